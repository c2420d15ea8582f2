"""The boundary between the database and the matching engine (STYLE.md rule 8).

Rows of the register, the SBOMs and the feeds become the engine's frozen value types here, and
nowhere else: :mod:`medshield.matching` never sees Django. Everything is read with ``values()``
queries in batches, as the fleet can hold 10,000 assets, 300,000 components and 1.6 million NVD
ranges. NVD candidates are found by one indexed lookup of the items' name keys
(:class:`~medshield.vulns.models.CpeKey`); only the candidates' configurations are read.

Matching works on *identities*, not assets: every asset with the same manufacturer, model and
software version is one device item, and every component of one SBOM is matched once however
many assets share the SBOM. :class:`Inventory` remembers which assets each identity stands for.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db.models import Q
from packageurl import PackageURL

from medshield.assets.models import Asset
from medshield.findings.models import VendorAlias
from medshield.matching import (
    AliasTable,
    CsafProductRule,
    InventoryItem,
    JvnRule,
    NvdConfiguration,
    Rule,
    Source,
    Status,
    VexStatement,
    Vulnerability,
    parse_cpe,
)
from medshield.matching.cpe import CpeError
from medshield.matching.loaders import stored_nvd_configurations
from medshield.matching.names import normal_hash
from medshield.network.models import ConnectionHop, ExternalConnection
from medshield.sboms.models import Component, Sbom
from medshield.sboms.models import VexStatement as VexRow
from medshield.vulns.models import (
    AdvisoryProduct,
    AdvisoryVulnerability,
    CpeKey,
    NvdConfigurations,
    ProductStatus,
)
from medshield.vulns.models import Vulnerability as VulnRow

#: the separators of a CPE 2.3 name (a colon not escaped)
_CPE_SPLIT = re.compile(r"(?<!\\):")

#: ids per ``IN (...)`` query; well under SQLite's and PostgreSQL's parameter limits
CHUNK = 5000


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def alias_table() -> AliasTable:
    """The confirmed aliases as the engine's table."""
    return AliasTable.from_groups(VendorAlias.objects.values_list("name", "alias"))


def name_key(aliases: AliasTable, vendor: str, product: str) -> tuple[str, str]:
    """The candidate-filter key of a vendor/product pair (over-inclusive, like the engine's)."""
    return aliases.canonical(vendor), aliases.canonical(product)


# ---------------------------------------------------------------------------------------------
# Inventory


@dataclass(frozen=True)
class Target:
    """Where an identity's finding lands: an asset (``asset_id``) or every asset an SBOM applies
    to (``sbom_id``), and the component it is about, if any.

    Components point at their SBOM rather than at each asset so that a fleet where 10,000
    assets share 1,000 SBOMs does not hold millions of targets; assets are expanded only for the
    few identities that have findings (:meth:`Inventory.assets_of`).
    """

    asset_id: int | None = None
    sbom_id: int | None = None
    component_id: int | None = None
    component_key: str = ""
    component_label: str = ""


@dataclass
class Inventory:
    """The items to match (by identity key) and the assets each stands for."""

    items: dict[str, InventoryItem] = field(default_factory=dict)
    targets: dict[str, list[Target]] = field(default_factory=lambda: defaultdict(list))
    asset_ids: set[int] = field(default_factory=set)
    #: SBOM id -> the assets (of this inventory) it applies to
    sbom_assets: dict[int, list[int]] = field(default_factory=dict)

    def assets_of(self, target: Target) -> list[int]:
        """The assets a target stands for."""
        if target.asset_id is not None:
            return [target.asset_id]
        return self.sbom_assets.get(target.sbom_id or 0, [])

    def name_keys(self, aliases: AliasTable) -> tuple[set[tuple[str, str]], set[str]]:
        """The vendor/product keys and purl package keys any item could be matched under."""
        keys: set[tuple[str, str]] = set()
        purls: set[str] = set()
        for item in self.items.values():
            keys.add(name_key(aliases, item.vendor, item.product))
            for text in item.cpes:
                cpe = _cpe(text)
                if cpe is not None:
                    keys.add(name_key(aliases, cpe.vendor, cpe.product))
            if item.purl and (pk := purl_key(item.purl)):
                purls.add(pk)
        return keys, purls


@dataclass(frozen=True)
class KeyFilter:
    """The names a few vulnerabilities' rules could match under (for re-matching just them).

    Items none of whose keys is here cannot be concerned: the engine's own index would never
    return these vulnerabilities for them, so they need not be built or matched.
    """

    keys: frozenset[tuple[str, str]]
    purls: frozenset[str]
    model_numbers: bool

    def wants(self, item: InventoryItem, aliases: AliasTable) -> bool:
        if self.model_numbers and item.model_numbers:
            return True
        if name_key(aliases, item.vendor, item.product) in self.keys:
            return True
        for text in item.cpes:
            cpe = _cpe(text)
            if cpe is not None and name_key(aliases, cpe.vendor, cpe.product) in self.keys:
                return True
        return bool(item.purl and purl_key(item.purl) in self.purls)


@lru_cache(maxsize=262144)
def _cpe(text: str) -> Any:
    """The parsed CPE, or None; cached, as SBOMs of one fleet repeat the same names."""
    try:
        return parse_cpe(text)
    except CpeError:
        return None


@lru_cache(maxsize=262144)
def purl_key(purl: str) -> str | None:
    """type/namespace/name of a purl, lower-cased; None when it does not parse."""
    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return None
    return f"{p.type}/{(p.namespace or '').lower()}/{p.name.lower()}"


def _fold(text: str) -> str:
    return text.strip().casefold()


def component_key(purl: str, cpe: str, group: str, name: str, version: str) -> str:
    """What identifies a component across versions of its SBOM."""
    if purl:
        return purl[:500]
    if cpe:
        return f"cpe:{cpe}"[:500] if not cpe.startswith("cpe:") else cpe[:500]
    return f"{group}/{name}@{version}"[:500]


#: the asset fields matching reads (with the SBOMs that apply to it): a change of any other
#: field (a name, a room, notes) cannot change what matches, so it queues no re-match
MATCHED_ASSET_FIELDS = ("manufacturer", "model", "software_version")


def asset_change_matters(action: str, changes: dict[str, Any] | None) -> bool:
    """Whether a recorded change of an asset can change its findings (a new or deleted asset
    always can; an update only when it changed a field matching reads)."""
    return action != "update" or not set(MATCHED_ASSET_FIELDS).isdisjoint(changes or ())


def load_inventory(
    asset_ids: Iterable[int] | None = None,
    only: KeyFilter | None = None,
    aliases: AliasTable | None = None,
) -> Inventory:
    """The register (all of it, or the given assets) as identities with their targets.

    With ``only``, items no rule of those vulnerabilities could concern are left out.
    """
    inventory = Inventory()
    assets = Asset.objects.all()
    if asset_ids is not None:
        wanted = sorted(set(asset_ids))
        rows: list[tuple[Any, ...]] = []
        for batch in chunks(wanted):
            rows += assets.filter(pk__in=batch).values_list("pk", *MATCHED_ASSET_FIELDS)
    else:
        rows = list(assets.values_list("pk", *MATCHED_ASSET_FIELDS))
    by_product: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for pk, manufacturer, model, version in rows:
        inventory.asset_ids.add(pk)
        by_product[(_fold(manufacturer), _fold(model), _fold(version))].append(pk)
        manufacturer, model, version = manufacturer.strip(), model.strip(), version.strip()
        if not manufacturer or not model:
            continue  # nothing to compare an advisory's names with
        key = f"d\0{_fold(manufacturer)}\0{_fold(model)}\0{version}"
        if key not in inventory.items:
            item = InventoryItem(
                key,
                vendor=manufacturer,
                product=model,
                version=version or None,
                model_numbers=(model,),
            )
            if only is not None and not only.wants(item, aliases or AliasTable()):
                continue
            inventory.items[key] = item
        inventory.targets[key].append(Target(asset_id=pk))
    _add_components(inventory, by_product, asset_ids is None, only, aliases or AliasTable())
    return inventory


def _sbom_assets(
    inventory: Inventory, by_product: dict[tuple[str, str, str], list[int]], everything: bool
) -> dict[int, list[int]]:
    """SBOM id -> the assets (of the inventory) it applies to."""
    out: dict[int, list[int]] = defaultdict(list)
    links = Sbom.assets.through.objects.all()
    if everything:
        pairs: list[tuple[int, int]] = list(links.values_list("sbom_id", "asset_id"))
    else:
        pairs = []
        for batch in chunks(sorted(inventory.asset_ids)):
            pairs += links.filter(asset_id__in=batch).values_list("sbom_id", "asset_id")
    for sbom_id, asset_id in pairs:
        out[sbom_id].append(asset_id)
    products = Sbom.objects.exclude(manufacturer="").values_list(
        "pk", "manufacturer", "model", "software_version"
    )
    for pk, manufacturer, model, version in products:
        found = by_product.get((_fold(manufacturer), _fold(model), _fold(version)))
        if found:
            out[pk].extend(found)
    return out


def _add_components(
    inventory: Inventory,
    by_product: dict[tuple[str, str, str], list[int]],
    everything: bool,
    only: KeyFilter | None,
    aliases: AliasTable,
) -> None:
    sbom_assets = _sbom_assets(inventory, by_product, everything)
    inventory.sbom_assets = {k: sorted(set(v)) for k, v in sbom_assets.items()}
    if not sbom_assets:
        return
    fields = ("pk", "sbom_id", "group", "name", "version", "purl", "cpe", "supplier")
    rows: list[tuple[Any, ...]] = []
    narrow = _narrowing(only, aliases) if only is not None else None
    for batch in chunks(sorted(sbom_assets)):
        query = Component.objects.filter(sbom_id__in=batch)
        if narrow is not None:
            query = query.filter(narrow)
        rows += query.values_list(*fields)
    # "Firmware running on hardware": the hardware CPEs an SBOM lists are the platform of its
    # firmware and operating-system components.
    hardware: dict[int, list[str]] = defaultdict(list)
    for _pk, sbom_id, _g, _n, _v, _p, cpe, _s in rows:
        if cpe and (parsed := _cpe(cpe)) is not None and parsed.part == "h":
            hardware[sbom_id].append(cpe)
    skipped: set[str] = set()
    for pk, sbom_id, group, name, version, purl, cpe, supplier in rows:
        cpes: tuple[str, ...] = ()
        if cpe:
            parsed = _cpe(cpe)
            cpes = (cpe,)
            if parsed is not None and parsed.part == "o":
                cpes += tuple(sorted(set(hardware[sbom_id])))
        vendor = supplier or group
        if not vendor and purl:
            try:
                vendor = PackageURL.from_string(purl).namespace or ""
            except ValueError:
                vendor = ""
        key = "c\0" + "\0".join((vendor, name, version, purl, *cpes))
        if key in skipped:
            continue
        if key not in inventory.items:
            item = InventoryItem(
                key,
                vendor=vendor,
                product=name,
                version=version or None,
                cpes=cpes,
                purl=purl or None,
                kind="component",
            )
            if only is not None and not only.wants(item, aliases):
                skipped.add(key)
                continue
            inventory.items[key] = item
        label = " ".join(p for p in (name, version) if p)[:500]
        ckey = component_key(purl, cpe, group, name, version)
        inventory.targets[key].append(Target(None, sbom_id, pk, ckey, label))


#: above this many names, narrowing by name costs more than reading every component
NARROW_NAMES = 2000
#: rows that may name hardware in either CPE binding (over-inclusive: each is parsed after)
_HARDWARE = Q(cpe__icontains=":h:") | Q(cpe__icontains="/h:")


def _narrowing(only: KeyFilter, aliases: AliasTable) -> Q | None:
    """The component rows that may concern ``only``'s rules, over-inclusively; None for all.

    Re-matching a few vulnerabilities (a daily feed update) concerns few components, but a fleet
    repeats a few thousand distinct ones hundreds of thousands of times. The distinct names,
    versions and identifiers are judged first, then only rows with a wanted name are read, with
    every hardware row (the platform that is part of a firmware component's identity) and every
    row of an SBOM whose hardware the rules name. The caller judges each row exactly as before.
    """
    names: set[str] = set()
    distinct = (
        Component.objects.order_by()  # the model's ordering would make every row distinct
        .values_list("supplier", "group", "name", "version", "purl", "cpe")
        .distinct()
    )
    for supplier, group, name, version, purl, cpe in distinct.iterator(5000):
        vendor = supplier or group
        if not vendor and purl:
            try:
                vendor = PackageURL.from_string(purl).namespace or ""
            except ValueError:
                vendor = ""
        probe = InventoryItem(
            "probe",
            vendor=vendor,
            product=name,
            version=version or None,
            cpes=(cpe,) if cpe else (),
            purl=purl or None,
            kind="component",
        )
        if only.wants(probe, aliases):
            names.add(name)
            if len(names) > NARROW_NAMES:
                return None
    platforms = {
        sbom_id
        for sbom_id, cpe in Component.objects.filter(_HARDWARE).values_list("sbom_id", "cpe")
        if (parsed := _cpe(cpe)) is not None
        and parsed.part == "h"
        and name_key(aliases, parsed.vendor, parsed.product) in only.keys
    }
    return Q(name__in=sorted(names)) | _HARDWARE | Q(sbom_id__in=sorted(platforms))


# ---------------------------------------------------------------------------------------------
# Exposure


def exposure() -> dict[int, list[str]]:
    """Asset id -> the external connections it is on the path of, or reachable from."""
    out: dict[int, set[str]] = defaultdict(set)
    for asset_id, name in ConnectionHop.objects.values_list("asset_id", "connection__name"):
        out[asset_id].add(name)
    reaches = ExternalConnection.reaches.through.objects.values_list(
        "asset_id", "externalconnection__name"
    )
    for asset_id, name in reaches:
        out[asset_id].add(name)
    return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Vulnerabilities


@dataclass
class VulnInfo:
    """What the service needs of a vulnerability row besides its rules."""

    pk: int
    vuln_id: str
    cvss3: Any
    cvss4: Any
    kev: bool
    epss: float | None


VULN_FIELDS = ("pk", "vuln_id", "aliases", "cvss3_score", "cvss4_score", "kev", "epss_score")


def candidate_vulnerabilities(
    keys: set[tuple[str, str]],
    purls: set[str],
    aliases: AliasTable,
    vuln_pks: Iterable[int] | None = None,
) -> tuple[list[Vulnerability], dict[str, VulnInfo]]:
    """The vulnerabilities with a rule that could concern one of ``keys`` or ``purls``.

    Only the candidates' rules are loaded: the NVD records are looked up by the hashed
    normal forms of the wanted names and of every alias of them (see :func:`name_hashes`), the
    advisories' products filtered in Python (names are compared after normalisation and
    aliases, which SQL cannot do); then the whole rules of the candidates are read.
    """
    scope = None if vuln_pks is None else sorted(set(vuln_pks))
    cpe_vulns = _cpe_candidates(keys, aliases, scope)
    advisory_rules = _advisory_rules(keys, purls, aliases, scope)
    wanted = cpe_vulns | set(advisory_rules)
    if not wanted:
        return [], {}
    nvd_rules = _nvd_rules(sorted(cpe_vulns))
    vulns: list[Vulnerability] = []
    info: dict[str, VulnInfo] = {}
    for batch in chunks(sorted(wanted)):
        # Unordered: sorting thousands of rows by vuln_id buys nothing (the index orders them).
        for pk, vuln_id, aliases_, cvss3, cvss4, kev, epss in (
            VulnRow.objects.filter(pk__in=batch).order_by().values_list(*VULN_FIELDS)
        ):
            rules: list[Rule] = list(nvd_rules.get(pk, ()))
            advisories: set[str] = set()
            sources: set[Source] = set()
            if rules:
                sources.add(Source.NVD)
            for rule in advisory_rules.get(pk, ()):
                rules.append(rule)
                sources.add(rule.source)
                if rule.advisory:
                    advisories.add(rule.advisory)
            if not rules:
                continue
            ids = frozenset(a for a in aliases_ or () if isinstance(a, str) and a != vuln_id)
            vulns.append(
                Vulnerability(
                    vuln_id,
                    ids,
                    frozenset(advisories),
                    tuple(rules),
                    frozenset(sources),
                )
            )
            info[vuln_id] = VulnInfo(pk, vuln_id, cvss3, cvss4, kev, epss)
    return vulns, info


def name_hashes(keys: Iterable[tuple[str, str]], aliases: AliasTable) -> set[int]:
    """The CpeKey keys of every spelling the aliases give the (canonical) name keys ``keys``."""
    groups = aliases.groups()
    out: set[int] = set()
    for vendor, product in keys:
        for v in groups.get(vendor, (vendor,)):
            for p in groups.get(product, (product,)):
                out.add(normal_hash(v, p))
    return out


def _cpe_candidates(
    keys: set[tuple[str, str]], aliases: AliasTable, scope: list[int] | None
) -> set[int]:
    """The vulnerabilities with a vulnerable NVD entry that names one of ``keys``."""
    if not keys:
        return set()
    hashes = name_hashes(keys, aliases)
    found: set[int] = set()
    if scope is not None:
        for batch in chunks(scope):
            found.update(
                vuln
                for vuln, key in CpeKey.objects.filter(vulnerability_id__in=batch).values_list(
                    "vulnerability_id", "key"
                )
                if key in hashes
            )
        return found
    for batch in chunks(sorted(hashes)):
        found.update(
            CpeKey.objects.filter(key__in=batch).values_list("vulnerability_id", flat=True)
        )
    return found


def _nvd_rules(vuln_pks: list[int]) -> dict[int, list[NvdConfiguration]]:
    """The NVD configurations of these vulnerabilities, from their stored JSON."""
    out: dict[int, list[NvdConfiguration]] = {}
    for batch in chunks(vuln_pks):
        for vuln, data in NvdConfigurations.objects.filter(vulnerability_id__in=batch).values_list(
            "vulnerability_id", "data"
        ):
            out[vuln] = list(stored_nvd_configurations(data))
    return out


_STATUS_FIELDS = (
    "entry__vulnerability_id",
    "entry_id",
    "status",
    "justification",
    "impact",
    "product__advisory_id",
    "product__product_id",
    "product__name",
    "product__vendor",
    "product__product",
    "product__family",
    "product__version",
    "product__version_is_range",
    "product__cpe",
    "product__purl",
    "product__helpers",
    "product__component_of",
    "entry__advisory__kind",
    "entry__advisory__advisory_id",
    "entry__advisory__category",
)


def _advisory_rules(
    keys: set[tuple[str, str]] | None,
    purls: set[str],
    aliases: AliasTable,
    scope: list[int] | None,
) -> dict[int, list[Rule]]:
    """CSAF product rules and JVN rules of the candidate vulnerabilities."""
    statuses = ProductStatus.objects.all()
    rows: list[tuple[Any, ...]] = []
    if scope is None:
        rows = list(statuses.values_list(*_STATUS_FIELDS))
    else:
        for batch in chunks(scope):
            rows += statuses.filter(entry__vulnerability_id__in=batch).values_list(*_STATUS_FIELDS)
    if not rows:
        return {}
    # Products created by a CSAF relationship ("X installed on Y") carry no names of their own:
    # they are product X (the component) on platform Y, as the engine's loader reads them.
    bases = _relationship_bases({(r[5], r[16]) for r in rows if r[16]})
    remediations = _remediations({r[1] for r in rows if r[17] == "csaf"})
    out: dict[int, list[Rule]] = defaultdict(list)
    jvn: dict[tuple[int, str, str, str, str, str], list[str]] = defaultdict(list)
    for (
        vuln,
        entry,
        status,
        justification,
        impact,
        advisory_pk,
        product_id,
        name,
        vendor,
        product,
        family,
        version,
        is_range,
        cpe,
        purl,
        helpers,
        component_of,
        kind,
        advisory,
        category,
    ) in rows:
        if component_of and (base := bases.get((advisory_pk, component_of))):
            vendor, product, family, version, is_range, cpe, purl, helpers = base
        if kind == "jvn":
            # One row per (affected item, version text); the engine wants one rule per item.
            group = product_id.rsplit("-", 1)[0] if product_id.count("-") >= 2 else product_id
            jvn_key = (vuln, advisory, group, cpe, vendor, product)
            if version:
                jvn[jvn_key].append(version)
            else:
                jvn.setdefault(jvn_key, [])
            continue
        rule = CsafProductRule(
            product_id=product_id,
            vendor=vendor,
            product=product or family or ("" if vendor else name),
            category=status,
            version=None if is_range or not version else version,
            version_range=version if is_range and version else None,
            cpe=cpe or None,
            purl=purl or None,
            model_numbers=tuple(
                m for m in (helpers or {}).get("model_numbers", ()) if isinstance(m, str)
            ),
            full_name=name,
            justification=justification or impact or None,
            remediation=remediations.get((entry, product_id)),
            source=Source.VEX if category == "csaf_vex" else Source.CSAF,
            advisory=advisory or None,
        )
        if keys is None or _rule_wanted(rule, keys, purls, aliases):
            out[vuln].append(rule)
    for (vuln, advisory, _group, cpe, vendor, product), versions in jvn.items():
        jvn_rule = JvnRule(
            cpe=cpe,
            vendor=vendor,
            product=product,
            version_texts=tuple(dict.fromkeys(versions)),
            source=Source.JVN,
            advisory=advisory or None,
        )
        if keys is None or _rule_wanted(jvn_rule, keys, purls, aliases):
            out[vuln].append(jvn_rule)
    return out


def rule_keys(vuln_pks: Iterable[int], aliases: AliasTable) -> KeyFilter:
    """The keys the rules of these vulnerabilities are indexed under (see :class:`KeyFilter`)."""
    scope = sorted(set(vuln_pks))
    keys: set[tuple[str, str]] = set()
    purls: set[str] = set()
    models = False
    for configurations in _nvd_rules(scope).values():
        for configuration in configurations:
            for node in configuration.nodes:
                for match in node.matches:
                    # Split as the importer splits it for CpeKey (escapes kept: normalisation
                    # drops them, as it drops all punctuation).
                    parts = _CPE_SPLIT.split(match.criteria, 5)
                    if match.vulnerable and len(parts) == 6:
                        keys.add(name_key(aliases, parts[3], parts[4]))
    for rules in _advisory_rules(None, set(), aliases, scope).values():
        for rule in rules:
            if isinstance(rule, CsafProductRule):
                models = models or bool(rule.model_numbers)
                keys.add(name_key(aliases, rule.vendor, rule.product))
                if rule.purl and (pk := purl_key(rule.purl)):
                    purls.add(pk)
            elif rule.vendor and rule.product:
                keys.add(name_key(aliases, rule.vendor, rule.product))
            cpe = _cpe(rule.cpe) if rule.cpe else None
            if cpe is not None:
                keys.add(name_key(aliases, cpe.vendor, cpe.product))
    return KeyFilter(frozenset(keys), frozenset(purls), models)


def _rule_wanted(
    rule: CsafProductRule | JvnRule,
    keys: set[tuple[str, str]],
    purls: set[str],
    aliases: AliasTable,
) -> bool:
    """Whether any item could be concerned (model-number rules always could)."""
    if isinstance(rule, CsafProductRule):
        if rule.model_numbers:
            return True
        if name_key(aliases, rule.vendor, rule.product) in keys:
            return True
        if rule.purl and purl_key(rule.purl) in purls:
            return True
    elif rule.vendor and rule.product and name_key(aliases, rule.vendor, rule.product) in keys:
        return True
    cpe = _cpe(rule.cpe) if rule.cpe else None
    return cpe is not None and name_key(aliases, cpe.vendor, cpe.product) in keys


def _relationship_bases(
    wanted: set[tuple[int, str]],
) -> dict[tuple[int, str], tuple[Any, ...]]:
    if not wanted:
        return {}
    out: dict[tuple[int, str], tuple[Any, ...]] = {}
    advisories = sorted({a for a, _ in wanted})
    for batch in chunks(advisories):
        rows = AdvisoryProduct.objects.filter(advisory_id__in=batch).values_list(
            "advisory_id",
            "product_id",
            "vendor",
            "product",
            "family",
            "version",
            "version_is_range",
            "cpe",
            "purl",
            "helpers",
        )
        for advisory, pid, *fields in rows:
            if (advisory, pid) in wanted:
                out[(advisory, pid)] = tuple(fields)
    return out


def _remediations(entries: set[int]) -> dict[tuple[int, str], str]:
    """(entry, product id) -> the first remediation text, as the engine's loader writes it."""
    out: dict[tuple[int, str], str] = {}
    for batch in chunks(sorted(entries)):
        for entry, items in AdvisoryVulnerability.objects.filter(pk__in=batch).values_list(
            "pk", "remediations"
        ):
            for item in items or ():
                if not isinstance(item, dict):
                    continue
                text = f"{item.get('category', '')}: {item.get('details', '')}".strip(": ")
                for pid in item.get("product_ids") or ():
                    out.setdefault((entry, pid), text)
    return out


# ---------------------------------------------------------------------------------------------
# VEX

_VEX_STATUS = {
    "not_affected": Status.NOT_AFFECTED,
    "false_positive": Status.NOT_AFFECTED,
    "resolved": Status.FIXED,
    "resolved_with_pedigree": Status.FIXED,
    "exploitable": Status.AFFECTED,
    "in_triage": Status.UNDER_INVESTIGATION,
}


def vex_statements() -> list[VexStatement]:
    """Every stored VEX statement (OpenVEX, CycloneDX) as the engine's statements."""
    out: list[VexStatement] = []
    rows = VexRow.objects.values_list(
        "vulnerability_id",
        "status",
        "purl",
        "cpe",
        "justification",
        "impact_statement",
        "action_statement",
        "affected_versions",
        "document__author",
        "document__document_id",
    )
    for vuln, status, purl, cpe, justification, impact, action, versions, author, doc in rows:
        mapped = _VEX_STATUS.get(status)
        if mapped is None or not (purl or cpe):
            continue
        out.append(
            VexStatement(
                vulnerability=vuln,
                status=mapped,
                versions=_vex_versions(purl, cpe, versions),
                cpe=cpe or None,
                purl=purl or None,
                justification=" ".join(p for p in (justification, impact) if p) or None,
                statement=action or None,
                author=author,
                document=doc,
            )
        )
    return out


def _vex_versions(purl: str, cpe: str, versions: Any) -> str | None:
    """The versions a statement is limited to: its listed versions, else its purl's or CPE's."""
    texts = [
        str(v.get("version") or v.get("range"))
        for v in versions or ()
        if isinstance(v, dict) and (v.get("version") or v.get("range"))
    ]
    if texts:
        return " | ".join(texts)
    if purl:
        try:
            version = PackageURL.from_string(purl).version
        except ValueError:
            version = None
        if version:
            return version
    if cpe and (parsed := _cpe(cpe)) is not None and parsed.version not in ("*", "-", ""):
        return str(parsed.version)
    return None
