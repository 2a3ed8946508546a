from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "wangge.dispatch"
    label = "dispatch"
