from django.urls import path

from wangge.people import views

urlpatterns = [
    path("registry/", views.registry, name="registry"),
    path("registry/import/", views.import_sheet, name="registry_import"),
    path("registry/export/", views.export_sheet, name="registry_export"),
    path("registry/residents/<int:resident_id>/reveal/", views.reveal, name="registry_reveal"),
]
