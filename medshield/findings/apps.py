from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FindingsConfig(AppConfig):
    name = "medshield.findings"
    label = "findings"
    verbose_name = _("Findings")

    def ready(self) -> None:
        from medshield.findings import signals  # noqa: F401 - connects the receivers
