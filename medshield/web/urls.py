"""URLs of the register's pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from medshield.accounts.views import LoginView
from medshield.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("assets/", views.asset_list, name="asset-list"),
    path("assets/new/", views.asset_create, name="asset-create"),
    path("assets/<str:tag>/", views.asset_detail, name="asset-detail"),
    path("assets/<str:tag>/edit/", views.asset_edit, name="asset-edit"),
    path("assets/<str:tag>/delete/", views.asset_delete, name="asset-delete"),
    path("places/", views.place_tree, name="place-tree"),
    path("subnets/", views.subnet_list, name="subnet-list"),
    path("connections/", views.connection_list, name="connection-list"),
]
