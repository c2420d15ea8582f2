"""URLs of the feed pages (included at /feeds/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from medshield.vulns import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.feed_status, name="feed-status"),
    path("vulnerabilities/<str:vuln_id>/", views.vulnerability_detail, name="vulnerability-detail"),
]
