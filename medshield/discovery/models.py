"""What the network showed: imported evidence files and the hosts and flows seen in them.

Observations are evidence, not register data: they are written by the importer, never edited, and
are not change-logged. What a user accepts from them goes into the register through the register's
own models (Asset, Interface, IPAddress, Flow), whose history records it; a dismissal is a user's
decision and is change-logged too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medshield.core.models import ChangeLoggedModel


class SourceKind(models.TextChoices):
    NMAP = "nmap", _("nmap XML scan")
    ZEEK = "zeek", _("Zeek log")
    PCAP = "pcap", _("Packet capture")


class ObservationSource(models.Model):
    """One imported evidence file; its SHA-256 makes a second import of it a no-op."""

    file_name = models.CharField(_("file name"), max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SourceKind.choices)
    detail = models.CharField(
        _("detail"), max_length=100, blank=True, help_text=_("e.g. the Zeek log type")
    )
    imported = models.DateTimeField(_("imported"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_by_name = models.CharField(_("imported by"), max_length=150)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    host_count = models.PositiveIntegerField(_("hosts"), default=0)
    flow_count = models.PositiveIntegerField(_("flows"), default=0)
    complete = models.BooleanField(_("complete"), default=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)

    class Meta:
        ordering = ["-imported", "-id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_kind_display()})"


class ObservedHost(models.Model):
    """A host one evidence file shows: its address and what it said about itself."""

    source = models.ForeignKey(
        ObservationSource,
        verbose_name=_("evidence file"),
        on_delete=models.CASCADE,
        related_name="hosts",
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, db_index=True)
    mac = models.CharField(_("MAC address"), max_length=17, blank=True, db_index=True)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    hostnames = models.JSONField(_("host names"), default=list, blank=True)
    protocols = models.JSONField(_("protocols"), default=list, blank=True)
    services = models.JSONField(_("open ports"), default=list, blank=True)
    os_guesses = models.JSONField(_("OS guesses"), default=list, blank=True)
    dicom_ae_titles = models.JSONField(_("DICOM AE titles"), default=list, blank=True)
    hl7_applications = models.JSONField(_("HL7 applications"), default=list, blank=True)
    hl7_facilities = models.JSONField(_("HL7 facilities"), default=list, blank=True)
    #: the rest of the reader's record (vendor class, OS details...) as it came
    extra = models.JSONField(default=dict, blank=True)
    #: only named (in a DNS answer), not seen sending or answering
    name_only = models.BooleanField(default=False)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        ordering = ["ip", "mac"]
        verbose_name = _("observed host")
        verbose_name_plural = _("observed hosts")

    def __str__(self) -> str:
        return self.ip or self.mac


class ObservedFlow(models.Model):
    """Traffic from one address to another's port, summed over one evidence file."""

    source = models.ForeignKey(
        ObservationSource,
        verbose_name=_("evidence file"),
        on_delete=models.CASCADE,
        related_name="flows",
    )
    src = models.GenericIPAddressField(_("source address"), db_index=True)
    dst = models.GenericIPAddressField(_("destination address"), db_index=True)
    dst_port = models.PositiveIntegerField(_("destination port"), null=True, blank=True)
    transport = models.CharField(_("transport"), max_length=10, blank=True)
    protocol = models.CharField(_("protocol"), max_length=50, blank=True)
    packets = models.BigIntegerField(_("packets"), default=0)
    bytes = models.BigIntegerField(_("bytes"), default=0)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        ordering = ["src", "dst", "dst_port"]
        verbose_name = _("observed flow")
        verbose_name_plural = _("observed flows")

    def __str__(self) -> str:
        return f"{self.src} → {self.dst}:{self.dst_port}/{self.transport}"


class DriftKind(models.TextChoices):
    UNKNOWN_HOST = "unknown_host", _("Unknown host")
    SILENT_ASSET = "silent_asset", _("Silent asset")
    UNDECLARED_FLOW = "undeclared_flow", _("Undeclared flow")
    CHANGED_FACT = "changed_fact", _("Changed fact")


class Dismissal(ChangeLoggedModel):
    """A drift item a user has looked at and set aside, with the reason; it no longer shows."""

    kind = models.CharField(_("kind"), max_length=20, choices=DriftKind.choices)
    key = models.CharField(_("item"), max_length=300)
    reason = models.CharField(_("reason"), max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = _("dismissed drift item")
        verbose_name_plural = _("dismissed drift items")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="dismissal_unique_item"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"
