"""URLs of the discovery pages (under /discovery/)."""

from django.urls import path

from medshield.discovery import views

urlpatterns = [
    path("", views.drift_page, name="discovery"),
    path("upload/", views.upload, name="discovery-upload"),
    path("accept/", views.accept, name="discovery-accept"),
    path("dismiss/", views.dismiss_item, name="discovery-dismiss"),
    path("hosts/accept/", views.accept_host, name="discovery-accept-host"),
]
