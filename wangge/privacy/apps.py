from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "wangge.privacy"
    label = "privacy"
