from django.apps import AppConfig


class RegisterConfig(AppConfig):
    name = "medshield.register"
    label = "register"
