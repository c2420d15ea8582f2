"""Record every deletion of a register object, including those done by a cascade."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from medshield.core.models import ChangeAction, ChangeLoggedModel, change_record


@receiver(pre_delete)
def remember_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    if isinstance(instance, ChangeLoggedModel):
        # Built before the row goes, while its parent and foreign keys can still be named.
        instance._delete_record = change_record(
            instance,
            ChangeAction.DELETE,
            {k: [instance.display_value(k, v), None] for k, v in instance.snapshot().items() if v},
        )


@receiver(post_delete)
def record_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    record = getattr(instance, "_delete_record", None)
    if record is not None:
        record.save()
        instance._delete_record = None
