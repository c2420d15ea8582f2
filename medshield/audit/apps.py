from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _restore_triggers(using: str = "default", **kwargs: Any) -> None:
    from medshield.audit.guard import restore_triggers

    restore_triggers(using)


class AuditConfig(AppConfig):
    name = "medshield.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        # After every migrate: a migration that rebuilt a guarded table on SQLite dropped its
        # triggers (see medshield.audit.guard.restore_triggers).
        post_migrate.connect(_restore_triggers, sender=self, dispatch_uid="medshield-audit-guard")
