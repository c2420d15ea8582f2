"""URLs of the register import and export pages (included at /register/)."""

from __future__ import annotations

from django.urls import path

from medshield.register import views

urlpatterns = [
    path("import/", views.import_upload, name="register-import"),
    path("import/preview/", views.import_preview, name="register-import-preview"),
    path("export/", views.export, name="register-export"),
]
