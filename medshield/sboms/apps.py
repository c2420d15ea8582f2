from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SbomsConfig(AppConfig):
    name = "medshield.sboms"
    label = "sboms"
    verbose_name = _("SBOMs and VEX")
