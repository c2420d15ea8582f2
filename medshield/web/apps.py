from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "medshield.web"
    label = "web"
