from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "wangge.care"
    label = "care"
