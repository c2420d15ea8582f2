import gc

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "medshield.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from medshield.core import signals  # noqa: F401 - connects the deletion receivers

        # Django imports every model before the first ready(): the modules, classes and models
        # loaded by now live as long as the process. In the permanent generation the cycle
        # collector no longer rescans them at each full collection, and the process no longer
        # tears them down one by one at exit (a tenth of a second of every medshield command).
        gc.freeze()
