"""Value types of the matching engine: inventory items, applicability rules, findings.

All are immutable so that they can be shared, cached and compared; Django models are converted
into them at the boundary (STYLE.md rule 8). They are frozen dataclasses, except the three types
of an NVD configuration (:class:`CpeMatch`, :class:`ConfigNode`, :class:`NvdConfiguration`),
which are frozen msgspec structs: a fleet's candidates are tens of thousands of configurations
with four ranges each, read from the stored JSON (``vulns.NvdConfigurations``), and msgspec
decodes that JSON straight into them (:func:`~medshield.matching.loaders.stored_nvd_configurations`)
where building dataclasses from the decoded dicts took six times as long. They compare, hash and
print as the dataclasses did; ``msgspec.structs.replace`` replaces ``dataclasses.replace``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec


class Certainty(StrEnum):
    CONFIRMED = "confirmed"
    UNCERTAIN = "uncertain"


class Status(StrEnum):
    """Finding status, aligned with the CSAF/VEX status vocabulary."""

    AFFECTED = "affected"
    UNDER_INVESTIGATION = "under_investigation"
    NOT_AFFECTED = "not_affected"
    FIXED = "fixed"


class Source(StrEnum):
    NVD = "NVD"
    JVN = "JVN"
    CSAF = "CSAF"
    VEX = "VEX"
    OSV = "OSV"


@dataclass(frozen=True)
class InventoryItem:
    """Something the hospital runs: an asset, or a component of an asset's SBOM.

    ``cpes`` may hold several names for one device, typically the firmware (``o``) and the
    hardware (``h``) it runs on, so that NVD "firmware running on hardware" configurations can be
    decided. ``hardware`` names the platform when no hardware CPE is known.
    """

    key: str
    vendor: str
    product: str
    version: str | None = None
    cpes: tuple[str, ...] = ()
    purl: str | None = None
    model_numbers: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    kind: str = "asset"  # "asset" or "component"
    asset_key: str | None = None  # the owning asset of a component


# ---------------------------------------------------------------------------------------------
# Rules


class CpeMatch(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One NVD ``cpeMatch`` entry: a CPE 2.3 match string plus optional version bounds.

    Its JSON names are NVD's (``versionStartIncluding``...); nothing it holds can form a
    reference cycle, so the cycle collector need not track it (``gc=False``), nor the two types
    below.
    """

    criteria: str
    vulnerable: bool = True
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None

    @property
    def has_bounds(self) -> bool:
        return any(
            (
                self.version_start_including,
                self.version_start_excluding,
                self.version_end_including,
                self.version_end_excluding,
            )
        )


class ConfigNode(msgspec.Struct, frozen=True, gc=False, rename={"matches": "cpeMatch"}):
    """A node of an NVD configuration: cpeMatch entries combined by OR/AND, optionally negated."""

    matches: tuple[CpeMatch, ...]
    operator: str = "OR"
    negate: bool = False


class NvdConfiguration(msgspec.Struct, frozen=True, gc=False):
    """One NVD configuration: nodes combined by ``operator`` (OR, or AND for "running on")."""

    nodes: tuple[ConfigNode, ...]
    operator: str = "OR"
    negate: bool = False
    source: Source = Source.NVD
    advisory: str | None = None


@dataclass(frozen=True)
class CsafProductRule:
    """A CSAF product (resolved from the product tree) with its status for one vulnerability.

    ``version`` is the text of a ``product_version`` branch and ``version_range`` that of a
    ``product_version_range`` branch (CISA puts free text in both). ``category`` is the
    product_status list the product id was found in.
    """

    product_id: str
    vendor: str
    product: str
    category: str
    version: str | None = None
    version_range: str | None = None
    cpe: str | None = None
    purl: str | None = None
    model_numbers: tuple[str, ...] = ()
    full_name: str = ""
    justification: str | None = None  # flag label or impact statement (not affected)
    remediation: str | None = None  # vendor_fix / workaround text (affected, fixed)
    source: Source = Source.CSAF
    advisory: str | None = None


@dataclass(frozen=True)
class JvnRule:
    """A JVN ``AffectedItem``: CPE 2.2 URI (usually versionless) and free-text version numbers."""

    cpe: str
    vendor: str = ""
    product: str = ""
    version_texts: tuple[str, ...] = ()
    source: Source = Source.JVN
    advisory: str | None = None


@dataclass(frozen=True)
class PurlRule:
    """A package (purl without version) and a ``vers:`` or free-text range (OSV, GHSA, CSAF)."""

    purl: str
    version_range: str
    source: Source = Source.OSV
    advisory: str | None = None


Rule = NvdConfiguration | CsafProductRule | JvnRule | PurlRule


@dataclass(frozen=True)
class VexStatement:
    """A manufacturer's statement on one vulnerability for a product (CSAF VEX, OpenVEX, CDX).

    The product is identified by any of cpe / purl / vendor+product; ``versions`` limits it (a
    range text, parsed like any other). ``status`` is not_affected, fixed, affected or
    under_investigation.
    """

    vulnerability: str
    status: Status
    vendor: str = ""
    product: str = ""
    versions: str | None = None
    cpe: str | None = None
    purl: str | None = None
    justification: str | None = None
    statement: str | None = None
    author: str = ""
    document: str | None = None


_ID_RANK = (
    (re.compile(r"^CVE-\d{4}-\d+$", re.IGNORECASE), 0),
    (re.compile(r"^GHSA-", re.IGNORECASE), 1),
    (re.compile(r"^ICSM?A-", re.IGNORECASE), 2),
    (re.compile(r"^JVN", re.IGNORECASE), 3),
)


def primary_id(ids: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    """Deterministic primary among aliases: a CVE, else GHSA, ICS(M)A, JVN, else lexically first."""

    def rank(identifier: str) -> tuple[int, str]:
        for pattern, score in _ID_RANK:
            if pattern.match(identifier):
                return score, identifier.upper()
        return len(_ID_RANK), identifier.upper()

    return min(ids, key=rank)


@dataclass(frozen=True)
class Vulnerability:
    """One vulnerability with all its aliases, the advisories that describe it and their rules."""

    id: str
    aliases: frozenset[str] = frozenset()
    advisories: frozenset[str] = frozenset()
    rules: tuple[Rule, ...] = ()
    sources: frozenset[Source] = frozenset()
    title: str = ""

    @classmethod
    def create(
        cls,
        ids: set[str] | frozenset[str],
        *,
        advisories: set[str] | frozenset[str] = frozenset(),
        rules: tuple[Rule, ...] = (),
        sources: set[Source] | frozenset[Source] = frozenset(),
        title: str = "",
    ) -> Vulnerability:
        ids = frozenset(ids)
        main = primary_id(ids)
        return cls(main, ids - {main}, frozenset(advisories), rules, frozenset(sources), title)

    @property
    def all_ids(self) -> frozenset[str]:
        return self.aliases | {self.id}

    def alias_of(self, other: Vulnerability) -> bool:
        return bool(self.all_ids & other.all_ids)

    def merge(self, other: Vulnerability) -> Vulnerability:
        """One record for both (their IDs denote the same issue); the primary is recomputed."""
        return Vulnerability.create(
            self.all_ids | other.all_ids,
            advisories=self.advisories | other.advisories,
            rules=self.rules + tuple(r for r in other.rules if r not in self.rules),
            sources=self.sources | other.sources,
            title=self.title or other.title,
        )


def merge_aliases(vulns: list[Vulnerability]) -> list[Vulnerability]:
    """Merge every group of records that share an ID (transitively), in first-seen order."""
    merged: list[Vulnerability] = []
    for vuln in vulns:
        overlapping = [m for m in merged if m.alias_of(vuln)]
        for m in overlapping:
            merged.remove(m)
            vuln = m.merge(vuln)
        merged.append(vuln)
    return sorted(merged, key=lambda v: v.id)


@dataclass(frozen=True)
class Evidence:
    """One rule's verdict on one item: which rule, which comparison, with what certainty."""

    source: Source
    advisory: str | None
    certainty: Certainty
    reason: str
    status: Status = Status.AFFECTED


@dataclass(frozen=True)
class Finding:
    """A vulnerability that (possibly) affects an inventory item, with why and who says so."""

    item: InventoryItem
    vulnerability: str
    aliases: frozenset[str]
    advisories: tuple[str, ...]
    certainty: Certainty
    status: Status
    reason: str
    sources: tuple[Source, ...]
    evidence: tuple[Evidence, ...] = field(default=(), compare=False)
    justification: str | None = None
