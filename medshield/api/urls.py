"""URLs of the api app (included at /api/): the REST API and the token page."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from medshield.api import views
from medshield.api.main import api

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    *api.urls[0],
]
