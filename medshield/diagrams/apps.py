from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiagramsConfig(AppConfig):
    name = "medshield.diagrams"
    label = "diagrams"
    verbose_name = _("Configuration diagrams")
