from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "wangge.projects"
    label = "projects"
