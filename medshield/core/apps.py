from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "medshield.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from medshield.core import signals  # noqa: F401 - connects the deletion receivers
