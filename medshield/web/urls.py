from django.urls import path

from medshield.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
