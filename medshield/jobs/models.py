"""A background job: one row per piece of long work, claimed by exactly one worker at a time.

The row is the whole protocol between the app processes and the workers, which may run on other
hosts: the web enqueues a row, a worker claims it (:mod:`medshield.jobs.queue`), reports progress
and a heartbeat into it, and writes the result or the error. Nothing else is shared, so any number
of app processes and workers can work against one PostgreSQL database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")

    @classmethod
    def colour(cls, value: str) -> str:
        return {
            cls.QUEUED: "secondary",
            cls.RUNNING: "primary",
            cls.DONE: "success",
            cls.FAILED: "danger",
            cls.CANCELLED: "dark",
        }.get(value, "light")

    @classmethod
    def active(cls) -> tuple[str, ...]:
        """States in which a job may still change on its own (pages poll while they last)."""
        return (cls.QUEUED.value, cls.RUNNING.value)


class Job(models.Model):
    """One piece of background work: what to run, who asked, and how far it has got."""

    kind = models.CharField(_("kind"), max_length=100, db_index=True)
    arguments = models.JSONField(_("arguments"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=JobState.choices, default=JobState.QUEUED
    )
    progress_done = models.PositiveBigIntegerField(_("done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("total"), default=0)
    progress_message = models.CharField(_("progress"), max_length=300, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("queued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: the name as it was when the job was queued (kept if the login is deleted later)
    created_by_name = models.CharField(_("queued by"), max_length=150, blank=True)
    created = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    #: host:pid/thread of the worker that holds (or last held) the job
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    #: how many times a worker has claimed the job (a job whose worker died is claimed again)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=3)
    #: last sign of life from the worker running the job; a stale one means the worker died
    heartbeat = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    #: set by a user on a running job; the worker stops it at its next progress report
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            # The claim query: the oldest queued job first.
            models.Index(fields=["state", "created", "id"], name="jobs_claim_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in JobState.active()

    @property
    def percent(self) -> int | None:
        """Progress in whole percent, or None while the total is unknown."""
        if self.state == JobState.DONE:
            return 100
        if not self.progress_total:
            return None
        return min(100, 100 * self.progress_done // self.progress_total)

    @property
    def state_colour(self) -> str:
        return JobState.colour(self.state)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to now while it runs)."""
        if self.started is None:
            return None
        from django.utils import timezone

        end = self.finished or timezone.now()
        return max(0.0, (end - self.started).total_seconds())
