from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "wangge.participation"
    label = "participation"
