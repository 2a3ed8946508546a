from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "wangge.dashboards"
    label = "dashboards"
