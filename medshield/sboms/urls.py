"""URLs of the SBOM pages (included at /sboms/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from medshield.sboms import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.sbom_list, name="sbom-list"),
    path("<int:pk>/", views.sbom_detail, name="sbom-detail"),
]
