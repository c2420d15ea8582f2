from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "medshield.demo"
    label = "demo"
