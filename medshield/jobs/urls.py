"""URLs of the jobs pages (mounted at /jobs/)."""

from __future__ import annotations

from django.urls import path

from medshield.jobs import views

urlpatterns = [
    path("", views.job_list, name="job-list"),
    path("<int:pk>/", views.job_detail, name="job-detail"),
    path("<int:pk>/status/", views.job_status, name="job-status"),
    path("<int:pk>/cancel/", views.job_cancel, name="job-cancel"),
    path("<int:pk>/file/", views.job_file, name="job-file"),
]
