"""Who a login is: its role (a group of permissions) and, for a manufacturer, whose devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of the guide's actors; each is a Django group of the same name."""

    ADMINISTRATOR = "administrator", _("Administrator")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    CLINICAL_ENGINEER = "clinical_engineer", _("Clinical engineer")
    IT_STAFF = "it_staff", _("IT staff")
    VIEWER = "viewer", _("Viewer")
    AUDITOR = "auditor", _("Auditor")
    MANUFACTURER = "manufacturer", _("Manufacturer")


class Profile(models.Model):
    """What medshield knows of a login beyond Django's user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="medshield_profile",
        verbose_name=_("user"),
    )
    manufacturer = models.CharField(
        _("manufacturer"),
        max_length=200,
        blank=True,
        help_text=_(
            "For a manufacturer's login: the manufacturer as the register spells it. "
            "Such a login sees only assets of this manufacturer."
        ),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.manufacturer or '-'})"


class Capability(models.Model):
    """Holder of the rights that are not about one model (Django keeps permissions per model).

    No rows are ever stored; only its permissions matter: ``accounts.<codename>``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("import_data", _("Can import files (register, feeds, SBOMs, VEX, discovery)")),
            ("export_data", _("Can export the register, diagrams and findings")),
            ("view_history", _("Can see the history of changes")),
            ("view_audit", _("Can see and export the audit log")),
            ("manage_users", _("Can manage logins and their roles")),
        ]
        verbose_name = _("capability")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
