"""URLs of the findings pages (included at /findings/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from medshield.findings import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.finding_list, name="finding-list"),
    path("export.csv", views.finding_export, name="finding-export"),
    path("<int:pk>/", views.finding_detail, name="finding-detail"),
    path("asset/<str:tag>/", views.asset_findings, name="finding-asset"),
    path("vuln/<str:vuln_id>/", views.vulnerability_findings, name="finding-vuln"),
    path("aliases/", views.alias_list, name="finding-alias-list"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="finding-alias-delete"),
]
