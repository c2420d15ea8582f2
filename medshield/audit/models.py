"""The audit log: who logged in, who was refused, who exported what (changes are in core's history).

Append-only: rows are only ever inserted (see :mod:`medshield.audit.log`), and the database
itself refuses to change or delete them (triggers created by migration 0002; see
:mod:`medshield.audit.guard` for the one documented way to purge old rows).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGOUT = "logout", _("Logged out")
    DENIED = "denied", _("Permission denied")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    TOKEN = "token", _("API token")
    ACCOUNT = "account", _("Account change")
    #: old audit events removed under the retention policy (``medshield audit purge``)
    PURGE = "purge", _("Audit log purge")


class AuditEvent(models.Model):
    """One thing that happened that is not a change to the register: a login, a refusal..."""

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    #: the username as typed or known at the time (kept even if the login is deleted later)
    username = models.CharField(_("user"), max_length=150, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    path = models.CharField(_("path"), max_length=500, blank=True)
    target = models.CharField(_("target"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # The log page filters by action or by user and always reads newest first.
            models.Index(fields=["action", "time"], name="audit_action_time"),
            models.Index(fields=["username", "time"], name="audit_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.action} {self.username} {self.target}"
