from django.apps import AppConfig


class TimebankConfig(AppConfig):
    name = "wangge.timebank"
    label = "timebank"
