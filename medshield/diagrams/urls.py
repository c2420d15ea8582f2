from django.urls import path

from medshield.diagrams import views

urlpatterns = [
    path("", views.index, name="diagram-index"),
    path("<str:kind>/", views.diagram, name="diagram"),
    path("<str:kind>/diff/", views.diff, name="diagram-diff"),
    path("<str:kind>/download.<str:fmt>", views.download, name="diagram-download"),
]
