"""Re-matching when the feeds or the register change, without editing the apps that change them.

Every register change writes a history row (:class:`~medshield.core.models.ObjectChange`),
every feed import a :class:`~medshield.vulns.models.FeedImport`, every file import an audit
event. Any of these schedules one :func:`~medshield.findings.service.rematch_pending` after the
transaction commits (once per transaction however many rows it wrote); that function works out
what changed from the marks it keeps, so rows written in bulk without signals are caught too.

``FINDINGS_AUTO_MATCH = False`` in the settings turns it off (``medshield match`` still works);
``"worker"`` queues a ``match.pending`` job instead (one at a time: a queued one is not doubled),
so the request that saved returns without waiting and the job workers do the matching.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from medshield.audit.models import AuditAction, AuditEvent
from medshield.core.models import ObjectChange
from medshield.vulns.models import FeedImport

logger = logging.getLogger(__name__)


def _run() -> None:
    from medshield.findings.service import rematch_pending

    stats = rematch_pending()
    if stats.created or stats.updated or stats.closed:
        logger.info("re-matched after a change: %s", stats.summary())


def _queue() -> None:
    from medshield.jobs.models import Job, JobState
    from medshield.jobs.queue import enqueue

    if not Job.objects.filter(kind=PENDING_JOB, state=JobState.QUEUED).exists():
        enqueue(PENDING_JOB, max_attempts=1)


#: the job kind that runs :func:`~medshield.findings.service.rematch_pending` (in jobs.kinds)
PENDING_JOB = "match.pending"


def schedule() -> None:
    """Run one pending re-match after the current transaction commits (or queue it)."""
    mode = getattr(settings, "FINDINGS_AUTO_MATCH", True)
    if not mode:
        return
    action = _queue if mode == "worker" else _run
    # Already waiting for this transaction's commit? (A rolled-back transaction drops the list.)
    if any(entry[1] is action for entry in connection.run_on_commit):
        return
    # robust: a failed re-match is logged and retried by the next one (the marks stay put); it
    # must not turn a successful save into an error page.
    transaction.on_commit(action, robust=True)


@receiver(post_save, sender=FeedImport, dispatch_uid="findings-feed-import")
def _feed_imported(sender: Any, instance: FeedImport, created: bool, **kwargs: Any) -> None:
    if created:
        schedule()


@receiver(post_save, sender=ObjectChange, dispatch_uid="findings-register-change")
def _register_changed(sender: Any, instance: ObjectChange, created: bool, **kwargs: Any) -> None:
    from django.contrib.contenttypes.models import ContentType

    from medshield.findings.inputs import asset_change_matters

    if not created:
        return
    object_type = ContentType.objects.get_for_id(instance.object_type_id)
    if object_type.app_label == "findings":
        return  # a person triaging a finding changes nothing the engine reads
    if (object_type.app_label, object_type.model) == ("assets", "asset") and not (
        asset_change_matters(instance.action, instance.changes)
    ):
        return  # its notes, name or place: nothing matching reads
    schedule()


@receiver(post_save, sender=AuditEvent, dispatch_uid="findings-import-event")
def _imported(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if created and instance.action == AuditAction.IMPORT:
        schedule()
