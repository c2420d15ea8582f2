"""Exports of configuration diagrams, so a page can show what changed since the last one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DiagramKind(models.TextChoices):
    NETWORK = "network", _("Network configuration diagram")
    PHYSICAL = "physical", _("Physical placement diagram")
    SERVER = "server", _("Server configuration diagram")
    SYSTEM = "system", _("System function configuration diagram")


class DiagramExport(models.Model):
    """One diagram written to a file (CLI) or downloaded (web)."""

    kind = models.CharField(_("diagram"), max_length=20, choices=DiagramKind.choices)
    format = models.CharField(_("format"), max_length=8)
    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user_name = models.CharField(_("user name"), max_length=150)
    redacted = models.BooleanField(_("redacted"), default=False)

    class Meta:
        ordering = ["-time"]
        verbose_name = _("diagram export")
        verbose_name_plural = _("diagram exports")

    def __str__(self) -> str:
        return f"{self.kind} {self.format} {self.time:%Y-%m-%d %H:%M}"
