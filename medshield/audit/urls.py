"""URLs of the audit app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from medshield.audit import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.audit_log, name="audit-log"),
    re_path(r"^export\.(?P<fmt>csv|json)$", views.audit_export, name="audit-export"),
]
