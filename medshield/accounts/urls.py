"""URLs of the accounts app (included at /account/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from medshield.accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("two-factor/", views.otp_setup, name="otp-setup"),
    path("two-factor/verify/", views.otp_verify, name="otp-verify"),
    path("two-factor/disable/", views.otp_disable, name="otp-disable"),
]
