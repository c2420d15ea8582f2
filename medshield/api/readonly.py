"""What the API shows but does not let a client write: feeds, SBOMs, observations, history.

These are written by their importers (or, for history, by every register save); an API write
would bypass the importer's checks and hashes, so the API only reads them.
"""

# No `from __future__ import annotations`: pydantic reads the filter schemas' annotations.

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from ninja import Router
from pydantic import Field

from medshield.accounts.scoping import manufacturer_of, visible_assets
from medshield.api.crud import Extra, ListQuery, Resource, add_routes
from medshield.api.fields import AssetTag, Id, UtcDateTime, filter_address, text
from medshield.api.scope import hanging_off_assets, is_confined
from medshield.assets.models import Asset
from medshield.core.models import ChangeAction, ObjectChange
from medshield.discovery.models import ObservationSource, ObservedFlow, ObservedHost, SourceKind
from medshield.findings.models import Certainty, Finding, FindingStatus
from medshield.sboms.models import Component, Sbom
from medshield.vulns.models import Advisory, FeedKind, Severity, Vulnerability

Search = text(200)


# --- vulnerabilities and advisories -----------------------------------------------------------
class VulnerabilityQuery(ListQuery):
    q: Search | None = Field(None, description="ID or title contains")
    kev: bool | None = Field(None, description="Known exploited (CISA KEV)")
    severity: Severity | None = Field(None, description="CVSS v3 severity")
    min_cvss: float | None = Field(None, ge=0, le=10, description="CVSS v3 base score at least")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(
                Q(vuln_id__icontains=self.q)
                | Q(title__icontains=self.q)
                | Q(title_ja__icontains=self.q)
            )
        if self.kev is not None:
            queryset = queryset.filter(kev=self.kev)
        if self.severity:
            queryset = queryset.filter(cvss3_severity=self.severity)
        if self.min_cvss is not None:
            queryset = queryset.filter(cvss3_score__gte=self.min_cvss)
        return queryset


class AdvisoryQuery(ListQuery):
    q: Search | None = Field(None, description="ID or title contains")
    kind: FeedKind | None = None
    vulnerability: text(64) | None = Field(None, description="Advisories naming this ID")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(
                Q(advisory_id__icontains=self.q) | Q(title__icontains=self.q)
            )
        if self.kind:
            queryset = queryset.filter(kind=self.kind)
        if self.vulnerability:
            queryset = queryset.filter(entries__vulnerability__vuln_id=self.vulnerability)
        return queryset


def _advisory_vulns(advisory: Advisory, user: Any) -> list[str]:
    return sorted(v.vuln_id for v in advisory.vulnerabilities.all())


# --- SBOMs --------------------------------------------------------------------------------------
class SbomQuery(ListQuery):
    q: Search | None = Field(None, description="Name, product, supplier or model contains")
    asset: AssetTag | None = Field(None, description="SBOMs that apply to this asset")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(
                Q(name__icontains=self.q)
                | Q(product_name__icontains=self.q)
                | Q(supplier__icontains=self.q)
                | Q(model__icontains=self.q)
            )
        if self.asset:
            asset = visible_assets(user).filter(asset_tag=self.asset).first()
            if asset is None:
                return queryset.none()
            queryset = queryset.filter(pk__in=Sbom.objects.for_asset(asset).values("pk"))
        return queryset


def _sboms(user: Any) -> QuerySet[Sbom]:
    """SBOMs attached to a visible asset or, by product, to the login's own make."""
    queryset = Sbom.objects.all()
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    maker = manufacturer_of(user)
    if maker is None:
        return queryset
    return queryset.filter(
        Q(assets__in=visible_assets(user).values("pk")) | Q(manufacturer__iexact=maker)
    ).distinct()


def _sbom_assets(sbom: Sbom, user: Any) -> list[str]:
    if sbom.attached_to_product:
        return []  # applies by product: see manufacturer/model/software_version
    return sorted(visible_assets(user, sbom.assets.all()).values_list("asset_tag", flat=True))


class ComponentQuery(ListQuery):
    sbom: Id | None = None
    q: Search | None = Field(None, description="Name or package URL contains")
    purl: text(2000) | None = Field(None, description="Exact package URL")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.sbom:
            queryset = queryset.filter(sbom_id=self.sbom)
        if self.q:
            queryset = queryset.filter(Q(name__icontains=self.q) | Q(purl__icontains=self.q))
        if self.purl:
            queryset = queryset.filter(purl=self.purl)
        return queryset


def _components(user: Any) -> QuerySet[Component]:
    queryset = Component.objects.all()
    if is_confined(user):
        queryset = queryset.filter(sbom__in=_sboms(user).values("pk"))
    return queryset


# --- discovery ----------------------------------------------------------------------------------
class SourceQuery(ListQuery):
    kind: SourceKind | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        return queryset.filter(kind=self.kind) if self.kind else queryset


class HostQuery(ListQuery):
    source: Id | None = Field(None, description="Evidence file")
    ip: text(45) | None = Field(None, description="Exact address")
    mac: text(17) | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.source:
            queryset = queryset.filter(source_id=self.source)
        if self.ip:
            queryset = filter_address(queryset, "ip", self.ip)
        if self.mac:
            queryset = queryset.filter(mac__iexact=self.mac)
        return queryset


class ObservedFlowQuery(ListQuery):
    source: Id | None = Field(None, description="Evidence file")
    src: text(45) | None = Field(None, description="Exact source address")
    dst: text(45) | None = Field(None, description="Exact destination address")
    dst_port: int | None = Field(None, ge=0, le=65535)

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.source:
            queryset = queryset.filter(source_id=self.source)
        if self.src:
            queryset = filter_address(queryset, "src", self.src)
        if self.dst:
            queryset = filter_address(queryset, "dst", self.dst)
        if self.dst_port is not None:
            queryset = queryset.filter(dst_port=self.dst_port)
        return queryset


# --- history --------------------------------------------------------------------------------------
class ChangeQuery(ListQuery):
    asset: AssetTag | None = Field(None, description="Changes of this asset and what hangs off it")
    object_type: text(100) | None = Field(None, description="app_label.model, e.g. assets.asset")
    object_id: Id | None = None
    user: text(150) | None = Field(None, description="User name")
    action: ChangeAction | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.asset:
            asset = visible_assets(user).filter(asset_tag=self.asset).first()
            if asset is None:
                return queryset.none()
            queryset = queryset.filter(_about_assets([asset.pk]))
        if self.object_type:
            app_label, _dot, model = self.object_type.lower().partition(".")
            kind = ContentType.objects.filter(app_label=app_label, model=model).first()
            if kind is None:
                return queryset.none()
            queryset = queryset.filter(object_type=kind)
        if self.object_id:
            queryset = queryset.filter(object_id=self.object_id)
        if self.user:
            queryset = queryset.filter(user_name=self.user)
        if self.action:
            queryset = queryset.filter(action=self.action)
        if self.since:
            queryset = queryset.filter(time__gte=self.since)
        if self.until:
            queryset = queryset.filter(time__lt=self.until)
        return queryset


def _about_assets(ids: Any) -> Q:
    asset_type = ContentType.objects.get_for_model(Asset)
    return Q(object_type=asset_type, object_id__in=ids) | Q(
        related_type=asset_type, related_id__in=ids
    )


def _changes(user: Any) -> QuerySet[ObjectChange]:
    """Every change, or for a confined login only those of the assets it sees."""
    queryset = ObjectChange.objects.select_related("object_type", "related_type")
    if is_confined(user):
        queryset = queryset.filter(_about_assets(visible_assets(user).values("pk")))
    return queryset


def _type_label(kind: ContentType | None) -> str | None:
    return f"{kind.app_label}.{kind.model}" if kind is not None else None


# --- findings -----------------------------------------------------------------------------------
class FindingQuery(ListQuery):
    asset: AssetTag | None = None
    vulnerability: text(64) | None = Field(None, description="Vulnerability ID, e.g. a CVE")
    status: FindingStatus | None = None
    open: bool | None = Field(None, description="Only open (true) or only closed (false)")
    certainty: Certainty | None = None
    kev: bool | None = None
    exposed: bool | None = None
    min_priority: int | None = Field(None, ge=0, le=32767)

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        from medshield.findings.models import CLOSED_STATUSES

        if self.asset:
            queryset = queryset.filter(asset__asset_tag=self.asset)
        if self.vulnerability:
            queryset = queryset.filter(vulnerability__vuln_id=self.vulnerability)
        if self.open is True:
            queryset = queryset.exclude(status__in=CLOSED_STATUSES)
        elif self.open is False:
            queryset = queryset.filter(status__in=CLOSED_STATUSES)
        for name in ("status", "certainty", "kev", "exposed"):
            value = getattr(self, name)
            if value is not None:
                queryset = queryset.filter(**{name: value})
        if self.min_priority is not None:
            queryset = queryset.filter(priority__gte=self.min_priority)
        return queryset


def _findings(user: Any) -> QuerySet[Finding]:
    return hanging_off_assets(
        Finding.objects.select_related("asset", "vulnerability"), user, "asset"
    )


RESOURCES: tuple[Resource, ...] = (
    Resource(
        model=Vulnerability,
        path="vulnerabilities",
        name="vulnerability",
        tag="vulnerabilities",
        filters=VulnerabilityQuery,
        queryset=lambda user: Vulnerability.objects.all(),
        lookup="vuln_id",
        writable=False,
        read_fields=(
            "vuln_id",
            "aliases",
            "title",
            "title_ja",
            "description",
            "published",
            "modified",
            "cvss3_score",
            "cvss3_vector",
            "cvss3_severity",
            "cvss4_score",
            "cvss4_vector",
            "cvss4_severity",
            "score_source",
            "cwes",
            "kev",
            "kev_date_added",
            "kev_due_date",
            "kev_ransomware",
            "kev_required_action",
            "epss_score",
            "epss_percentile",
            "epss_date",
        ),
    ),
    Resource(
        model=Advisory,
        path="advisories",
        name="advisory",
        tag="vulnerabilities",
        filters=AdvisoryQuery,
        queryset=lambda user: Advisory.objects.prefetch_related("vulnerabilities"),
        writable=False,
        read_fields=(
            "kind",
            "advisory_id",
            "publisher",
            "category",
            "title",
            "lang",
            "tlp",
            "summary",
            "url",
            "version",
            "initial_release_date",
            "current_release_date",
        ),
        extras=(Extra("vulnerabilities", list[str], _advisory_vulns),),
    ),
    Resource(
        model=Sbom,
        path="sboms",
        name="sbom",
        tag="sboms",
        filters=SbomQuery,
        queryset=_sboms,
        writable=False,
        read_fields=(
            "format",
            "spec_version",
            "document_id",
            "document_version",
            "name",
            "supplier",
            "product_name",
            "product_version",
            "timestamp",
            "sha256",
            "filename",
            "component_count",
            "manufacturer",
            "model",
            "software_version",
        ),
        extras=(Extra("assets", list[str], _sbom_assets),),
        doc="`assets` lists the assets an SBOM is attached to; one attached by product applies "
        "to every asset of its manufacturer, model and software version.",
    ),
    Resource(
        model=Component,
        path="components",
        name="component",
        tag="sboms",
        filters=ComponentQuery,
        queryset=_components,
        writable=False,
        read_fields=(
            "sbom",
            "bom_ref",
            "type",
            "group",
            "name",
            "version",
            "purl",
            "cpe",
            "supplier",
            "licenses",
            "hashes",
            "depends_on",
        ),
    ),
    Resource(
        model=ObservationSource,
        path="observation-sources",
        name="observation-source",
        tag="discovery",
        filters=SourceQuery,
        queryset=lambda user: ObservationSource.objects.all(),
        writable=False,
        read_fields=(
            "file_name",
            "sha256",
            "kind",
            "detail",
            "imported",
            "imported_by_name",
            "first_seen",
            "last_seen",
            "host_count",
            "flow_count",
            "complete",
            "warnings",
        ),
    ),
    Resource(
        model=ObservedHost,
        path="observed-hosts",
        name="observed-host",
        tag="discovery",
        filters=HostQuery,
        queryset=lambda user: ObservedHost.objects.all(),
        writable=False,
        read_fields=(
            "source",
            "ip",
            "mac",
            "vendor",
            "hostnames",
            "protocols",
            "services",
            "os_guesses",
            "dicom_ae_titles",
            "hl7_applications",
            "hl7_facilities",
            "name_only",
            "first_seen",
            "last_seen",
        ),
    ),
    Resource(
        model=ObservedFlow,
        path="observed-flows",
        name="observed-flow",
        tag="discovery",
        filters=ObservedFlowQuery,
        queryset=lambda user: ObservedFlow.objects.all(),
        writable=False,
        read_fields=(
            "source",
            "src",
            "dst",
            "dst_port",
            "transport",
            "protocol",
            "packets",
            "bytes",
            "first_seen",
            "last_seen",
        ),
    ),
    Resource(
        model=ObjectChange,
        path="history",
        name="change",
        tag="history",
        filters=ChangeQuery,
        queryset=_changes,
        writable=False,
        read_fields=(
            "time",
            "user",
            "user_name",
            "action",
            "object_id",
            "object_repr",
            "related_id",
            "changes",
            "data",
        ),
        extras=(
            Extra("object_type", str | None, lambda c, user: _type_label(c.object_type)),
            Extra("related_type", str | None, lambda c, user: _type_label(c.related_type)),
        ),
        doc="Every change to the register: who, when, each field's old and new value.",
    ),
    Resource(
        model=Finding,
        path="findings",
        name="finding",
        tag="findings",
        filters=FindingQuery,
        queryset=_findings,
        writable=False,
        read_fields=(
            "asset",
            "component",
            "component_key",
            "component_label",
            "advisories",
            "certainty",
            "match_status",
            "status",
            "status_set_by_user",
            "status_note",
            "reason",
            "evidence",
            "justification",
            "cvss3_score",
            "cvss4_score",
            "kev",
            "epss",
            "exposed",
            "priority",
            "first_seen",
            "last_seen",
            "resolved_at",
        ),
        extras=(
            Extra("vulnerability", str, lambda f, user: f.vulnerability.vuln_id),
            # computed for the asset (criticality, exposure): not a column of the findings view
            Extra("priority_explanation", list[list[Any]], lambda f, user: f.priority_explanation),
        ),
        doc="A vulnerability matched on an asset (or on a component of its SBOM), with why, "
        "how certain, and its priority.",
    ),
)


def router() -> Router:
    result = Router()
    for resource in RESOURCES:
        add_routes(result, resource)
    return result
