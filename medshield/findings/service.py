"""Matching the register against the feeds, and keeping the findings table in step.

Three entry points (the benchmark and the commands call them by these names):

* :func:`match_all` matches every asset and SBOM against every vulnerability;
* :func:`rematch_vulnerabilities` matches the whole inventory against a few vulnerabilities
  (after a feed import);
* :func:`rematch_assets` matches a few assets against every vulnerability (after a register or
  SBOM change).

Each converts rows to the engine's inputs (:mod:`medshield.findings.inputs`), matches once per
distinct identity, and writes the result in one transaction: new findings are created, changed
ones updated, and findings in scope that no longer match are closed with a reason. A status a
person set is never overwritten. :func:`rematch_pending` is what the signals run after a commit:
it works out from the history and feed marks what changed since the last run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from medshield.findings import inputs
from medshield.findings.models import (
    AUTO_STATUS,
    Finding,
    FindingStatus,
    MatchState,
)
from medshield.findings.priority import PriorityInput, priority
from medshield.matching import Certainty, InMemoryAdvisoryService, RuleMatcher
from medshield.matching import Finding as EngineFinding

#: (identities done, identities in all)
Progress = Callable[[int, int], None]

#: rows per bulk statement
BATCH = 1000


@dataclass
class MatchStats:
    """What one run did."""

    assets: int = 0
    identities: int = 0
    vulnerabilities: int = 0
    created: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.assets} assets as {self.identities} identities against "
            f"{self.vulnerabilities} candidate vulnerabilities: {self.created} findings created, "
            f"{self.updated} updated, {self.closed} closed, {self.unchanged} unchanged "
            f"in {self.seconds:.2f} s"
        )


# ---------------------------------------------------------------------------------------------
# Entry points


def match_all(progress: Progress | None = None) -> MatchStats:
    """Match the whole register against every vulnerability; close what no longer matches."""
    marks = _current_marks()
    stats = _run(asset_ids=None, vuln_pks=None, progress=progress)
    _save_marks(marks, full=True)
    return stats


def rematch_vulnerabilities(
    vuln_ids: Iterable[int | str], progress: Progress | None = None
) -> MatchStats:
    """Re-match these vulnerabilities (primary keys or ids such as CVE-2024-1234) everywhere."""
    pks: set[int] = set()
    names: list[str] = []
    for value in vuln_ids:
        if isinstance(value, int):
            pks.add(value)
        else:
            names.append(str(value))
    from medshield.vulns.models import Vulnerability

    for batch in inputs.chunks(names):
        pks.update(Vulnerability.objects.filter(vuln_id__in=batch).values_list("pk", flat=True))
    if not pks:
        return MatchStats()
    return _run(asset_ids=None, vuln_pks=pks, progress=progress)


def rematch_assets(asset_ids: Iterable[int], progress: Progress | None = None) -> MatchStats:
    """Re-match these assets (and the SBOMs that apply to them) against every vulnerability."""
    ids = {int(i) for i in asset_ids}
    if not ids:
        return MatchStats()
    return _run(asset_ids=ids, vuln_pks=None, progress=progress)


# ---------------------------------------------------------------------------------------------
# The run


def _run(
    *, asset_ids: set[int] | None, vuln_pks: set[int] | None, progress: Progress | None
) -> MatchStats:
    from medshield.assets.models import Asset

    started = time.perf_counter()
    stats = MatchStats()
    if not Asset.objects.exists():
        # No register yet (a first feed load): nothing to match, and findings die with assets.
        stats.seconds = time.perf_counter() - started
        return stats
    aliases = inputs.alias_table()
    # Re-matching a few vulnerabilities: build only the items their rules could concern.
    only = inputs.rule_keys(vuln_pks, aliases) if vuln_pks is not None else None
    inventory = inputs.load_inventory(asset_ids, only, aliases)
    stats.assets = len(inventory.asset_ids)
    stats.identities = len(inventory.items)
    keys, purls = inventory.name_keys(aliases)
    vulns, info = (
        inputs.candidate_vulnerabilities(keys, purls, aliases, vuln_pks)
        if inventory.items
        else ([], {})
    )
    stats.vulnerabilities = len(vulns)
    service = InMemoryAdvisoryService(vulns, aliases)
    matcher = RuleMatcher(aliases, inputs.vex_statements() if vulns else ())
    found: dict[str, list[EngineFinding]] = {}
    total = len(inventory.items)
    for n, (key, item) in enumerate(inventory.items.items(), start=1):
        candidates = service.query(item)
        if candidates:
            matched = matcher.match_item(item, candidates)
            if matched:
                found[key] = matched
        if progress and (n % 500 == 0 or n == total):
            progress(n, total)
    if progress and not total:
        progress(0, 0)
    wanted = _wanted(inventory, found, info)
    scope = Q()
    if asset_ids is not None:
        scope &= Q(asset_id__in=sorted(inventory.asset_ids | asset_ids))
    if vuln_pks is not None:
        scope &= Q(vulnerability_id__in=sorted(vuln_pks))
    with transaction.atomic():
        _write(wanted, scope, asset_ids, vuln_pks, stats)
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class _Wanted:
    """One finding as the engine sees it now, before priority."""

    component_id: int | None
    component_label: str
    finding: EngineFinding
    info: inputs.VulnInfo


def _wanted(
    inventory: inputs.Inventory,
    found: dict[str, list[EngineFinding]],
    info: dict[str, inputs.VulnInfo],
) -> dict[tuple[int, int, str], _Wanted]:
    out: dict[tuple[int, int, str], _Wanted] = {}
    for key, findings in found.items():
        for target in inventory.targets[key]:
            for asset_id in inventory.assets_of(target):
                for f in findings:
                    vuln = info[f.vulnerability]
                    k = (asset_id, vuln.pk, target.component_key)
                    if k not in out:
                        out[k] = _Wanted(target.component_id, target.component_label, f, vuln)
    return out


#: fields the engine writes; compared with the stored row to decide on an update
_ENGINE_FIELDS = (
    "component_id",
    "component_label",
    "advisories",
    "certainty",
    "match_status",
    "reason",
    "evidence",
    "sources",
    "justification",
    "cvss3_score",
    "cvss4_score",
    "kev",
    "epss",
    "exposed",
    "priority",
    "priority_explanation",
    "status",
    "resolved_at",
)


def _criticality(asset_ids: Iterable[int]) -> dict[int, str]:
    from medshield.assets.models import Asset

    out: dict[int, str] = {}
    for batch in inputs.chunks(sorted(set(asset_ids))):
        out.update(Asset.objects.filter(pk__in=batch).values_list("pk", "criticality"))
    return out


def _engine_values(
    w: _Wanted, criticality: str, exposed_by: list[str], status: str
) -> dict[str, Any]:
    f = w.finding
    score, explanation = priority(
        PriorityInput(
            cvss3=w.info.cvss3,
            cvss4=w.info.cvss4,
            kev=w.info.kev,
            epss=w.info.epss,
            criticality=criticality,
            exposed_by=tuple(exposed_by),
            uncertain=f.certainty is Certainty.UNCERTAIN,
        )
    )
    return {
        "component_id": w.component_id,
        "component_label": w.component_label,
        "advisories": list(f.advisories),
        "certainty": f.certainty.value,
        "match_status": f.status.value,
        "reason": f.reason,
        "evidence": [
            {
                "source": e.source.value,
                "advisory": e.advisory,
                "certainty": e.certainty.value,
                "status": e.status.value,
                "reason": e.reason,
            }
            for e in f.evidence
        ],
        "sources": [s.value for s in f.sources],
        "justification": f.justification or "",
        "cvss3_score": w.info.cvss3,
        "cvss4_score": w.info.cvss4,
        "kev": w.info.kev,
        "epss": w.info.epss,
        "exposed": bool(exposed_by),
        "priority": score,
        "priority_explanation": explanation,
        "status": status,
        "resolved_at": None,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (
            a is not None and b is not None and Decimal(a) == Decimal(b)
        )
    return bool(a == b)


def fingerprint(values: dict[str, Any]) -> str:
    """A digest of what the engine says of a finding (status and resolution left out).

    Stored on the row so that a re-run compares one short string per finding instead of loading
    every finding's evidence and reason: a fleet can hold a million findings.
    """
    said = {k: v for k, v in values.items() if k not in ("status", "resolved_at")}
    text = json.dumps(said, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _write(
    wanted: dict[tuple[int, int, str], _Wanted],
    scope: Q,
    asset_ids: set[int] | None,
    vuln_pks: set[int] | None,
    stats: MatchStats,
) -> None:
    """Create, update and close findings in batches, holding only a few rows at a time."""
    now = timezone.now()
    exposure = inputs.exposure()
    criticality = _criticality({k[0] for k in wanted})
    # key -> (pk, status, set by a person, open to the engine, fingerprint)
    existing: dict[tuple[int, int, str], tuple[int, str, bool, bool, str]] = {}
    names = (
        "pk",
        "asset_id",
        "vulnerability_id",
        "component_key",
        "status",
        "status_set_by_user",
        "resolved_at",
        "fingerprint",
    )
    for pk, asset_id, vuln, ckey, status, by_user, resolved, fp in (
        Finding.objects.filter(scope).values_list(*names).iterator(5000)
    ):
        existing[(asset_id, vuln, ckey)] = (pk, status, by_user, resolved is None, fp)
    to_create: list[Finding] = []
    to_update: list[Finding] = []
    seen: list[int] = []
    fields = [*_ENGINE_FIELDS, "fingerprint"]
    for key, w in wanted.items():
        asset_id, vuln_pk, ckey = key
        row = existing.get(key)
        auto = AUTO_STATUS[w.finding.status.value]
        status = row[1] if row is not None and row[2] else auto
        values = _engine_values(
            w, criticality.get(asset_id, ""), exposure.get(asset_id, []), status
        )
        values["fingerprint"] = fingerprint(values)
        if row is None:
            to_create.append(
                Finding(
                    asset_id=asset_id,
                    vulnerability_id=vuln_pk,
                    component_key=ckey,
                    first_seen=now,
                    last_seen=now,
                    **values,
                )
            )
            if len(to_create) >= BATCH:
                Finding.objects.bulk_create(to_create)
                stats.created += len(to_create)
                to_create = []
            continue
        seen.append(row[0])
        if row[4] == values["fingerprint"] and row[1] == status and row[3]:
            stats.unchanged += 1
            continue
        to_update.append(Finding(pk=row[0], **values))
        if len(to_update) >= BATCH:
            Finding.objects.bulk_update(to_update, fields)
            stats.updated += len(to_update)
            to_update = []
    if to_create:
        Finding.objects.bulk_create(to_create)
        stats.created += len(to_create)
    if to_update:
        Finding.objects.bulk_update(to_update, fields)
        stats.updated += len(to_update)
    for batch in inputs.chunks(seen):
        Finding.objects.filter(pk__in=batch).update(last_seen=now)
    # In scope, still open to the engine, and no longer matched: close it, with the date.
    closing_auto: list[int] = []
    closing_kept: list[int] = []
    for key, (pk, _status, by_user, open_, _fp) in existing.items():
        if open_ and key not in wanted:
            (closing_kept if by_user else closing_auto).append(pk)
    for batch in inputs.chunks(closing_auto):
        Finding.objects.filter(pk__in=batch).update(
            resolved_at=now, status=FindingStatus.RESOLVED, last_updated=now
        )
    for batch in inputs.chunks(closing_kept):
        Finding.objects.filter(pk__in=batch).update(resolved_at=now, last_updated=now)
    stats.closed = len(closing_auto) + len(closing_kept)


# ---------------------------------------------------------------------------------------------
# Scores and exposure without re-matching


def refresh_priorities(asset_ids: Iterable[int] | None = None) -> int:
    """Recompute scores, exposure and priority of findings from the current feeds and register.

    KEV, EPSS and CVSS change daily without changing what matches; so does an external
    connection's path. Only rows whose priority inputs changed are written. Returns how many.
    """
    exposure = inputs.exposure()
    qs = Finding.objects.all()
    if asset_ids is not None:
        qs = qs.filter(asset_id__in=sorted(set(asset_ids)))
    fields = (
        "pk",
        "certainty",
        "cvss3_score",
        "cvss4_score",
        "kev",
        "epss",
        "exposed",
        "priority",
        "priority_explanation",
        "asset_id",
        "asset__criticality",
        "vulnerability__cvss3_score",
        "vulnerability__cvss4_score",
        "vulnerability__kev",
        "vulnerability__epss_score",
    )
    updates: list[Finding] = []
    for row in qs.values(*fields).iterator(2000):
        exposed_by = exposure.get(row["asset_id"], [])
        score, explanation = priority(
            PriorityInput(
                cvss3=row["vulnerability__cvss3_score"],
                cvss4=row["vulnerability__cvss4_score"],
                kev=row["vulnerability__kev"],
                epss=row["vulnerability__epss_score"],
                criticality=row["asset__criticality"],
                exposed_by=tuple(exposed_by),
                uncertain=row["certainty"] == Certainty.UNCERTAIN.value,
            )
        )
        values = {
            "cvss3_score": row["vulnerability__cvss3_score"],
            "cvss4_score": row["vulnerability__cvss4_score"],
            "kev": row["vulnerability__kev"],
            "epss": row["vulnerability__epss_score"],
            "exposed": bool(exposed_by),
            "priority": score,
            "priority_explanation": explanation,
        }
        if any(not _same(row[k], v) for k, v in values.items()):
            # The fingerprint no longer describes the row; the next run rewrites it whole.
            updates.append(Finding(pk=row["pk"], fingerprint="", **values))
    with transaction.atomic():
        Finding.objects.bulk_update(updates, [*_PRIORITY_FIELDS, "fingerprint"], batch_size=BATCH)
    return len(updates)


_PRIORITY_FIELDS = (
    "cvss3_score",
    "cvss4_score",
    "kev",
    "epss",
    "exposed",
    "priority",
    "priority_explanation",
)


# ---------------------------------------------------------------------------------------------
# Incremental: what changed since the last run


def _current_marks() -> dict[str, int]:
    from medshield.core.models import ObjectChange
    from medshield.vulns.models import AdvisoryVulnerability, CpeKey, FeedImport, Vulnerability

    def top(model: Any) -> int:
        return int(model.objects.aggregate(m=Max("pk"))["m"] or 0)

    return {
        "change_mark": top(ObjectChange),
        "feed_mark": top(FeedImport),
        "vulnerability_mark": top(Vulnerability),
        # CpeKey rows are replaced with their record's configurations: new ids mark the NVD
        # records an import created or changed.
        "cpe_mark": top(CpeKey),
        "entry_mark": top(AdvisoryVulnerability),
    }


def _state() -> MatchState:
    state, _ = MatchState.objects.get_or_create(pk=1)
    return state


def _save_marks(marks: dict[str, int], *, full: bool = False) -> None:
    values: dict[str, Any] = dict(marks)
    if full:
        values["last_full"] = timezone.now()
    MatchState.objects.update_or_create(pk=1, defaults=values)


@dataclass
class Pending:
    """What changed since the marks: the work :func:`rematch_pending` will do."""

    asset_ids: set[int] = field(default_factory=set)
    vuln_pks: set[int] = field(default_factory=set)
    exposure_changed: bool = False
    feeds_changed: bool = False


def pending(state: MatchState, marks: dict[str, int]) -> Pending:
    """The assets and vulnerabilities changed between ``state`` and ``marks``."""
    from django.contrib.contenttypes.models import ContentType

    from medshield.core.models import ObjectChange
    from medshield.sboms.models import Sbom
    from medshield.vulns.models import AdvisoryVulnerability, CpeKey, Vulnerability

    out = Pending()
    if marks["change_mark"] > state.change_mark:
        changes = ObjectChange.objects.filter(
            pk__gt=state.change_mark, pk__lte=marks["change_mark"]
        ).values_list("object_type_id", "object_id", "object_repr", "data")
        sboms: set[int] = set()
        vex_vulns: set[str] = set()
        for type_id, object_id, repr_, data in changes.iterator(5000):
            ct = ContentType.objects.get_for_id(type_id)
            label = f"{ct.app_label}.{ct.model}"
            if label == "assets.asset":
                out.asset_ids.add(object_id)
            elif label == "sboms.sbom":
                sboms.add(object_id)
            elif label == "sboms.vexstatement":
                vuln = (data or {}).get("vulnerability_id") or repr_.split(" ", 1)[0]
                if vuln:
                    vex_vulns.add(vuln)
            elif label == "sboms.vexdocument":
                from medshield.sboms.models import VexStatement

                vex_vulns.update(
                    VexStatement.objects.filter(document_id=object_id).values_list(
                        "vulnerability_id", flat=True
                    )
                )
            elif ct.app_label == "network" and ct.model in ("externalconnection", "connectionhop"):
                out.exposure_changed = True
        for sbom in Sbom.objects.filter(pk__in=sorted(sboms)):
            out.asset_ids.update(sbom.applicable_assets().values_list("pk", flat=True))
        if sboms:
            # Assets whose component findings lost their component row (a new SBOM version or a
            # detached SBOM) are re-matched too, so stale component findings close.
            out.asset_ids.update(
                Finding.objects.exclude(component_key="")
                .filter(Q(component__isnull=True) | Q(component__sbom_id__in=sorted(sboms)))
                .values_list("asset_id", flat=True)
            )
        for batch in inputs.chunks(sorted(vex_vulns)):
            out.vuln_pks.update(
                Vulnerability.objects.filter(vuln_id__in=batch).values_list("pk", flat=True)
            )
    if marks["feed_mark"] > state.feed_mark:
        out.feeds_changed = True
        out.vuln_pks.update(
            Vulnerability.objects.filter(
                pk__gt=state.vulnerability_mark, pk__lte=marks["vulnerability_mark"]
            ).values_list("pk", flat=True)
        )
        out.vuln_pks.update(
            CpeKey.objects.filter(pk__gt=state.cpe_mark, pk__lte=marks["cpe_mark"])
            .values_list("vulnerability_id", flat=True)
            .distinct()
        )
        out.vuln_pks.update(
            AdvisoryVulnerability.objects.filter(
                pk__gt=state.entry_mark, pk__lte=marks["entry_mark"]
            ).values_list("vulnerability_id", flat=True)
        )
    return out


def rematch_pending() -> MatchStats:
    """Re-match what changed since the last run: changed assets and SBOMs, changed feeds.

    Run by the signals after each commit that changed the register or imported a feed; safe to
    run at any time (nothing changed, nothing done).
    """
    state = _state()
    if state.last_full is None and not (state.change_mark or state.feed_mark):
        return match_all()  # never matched: everything is new, and one full run is cheaper
    marks = _current_marks()
    work = pending(state, marks)
    total = MatchStats()
    if work.asset_ids:
        _add(total, rematch_assets(work.asset_ids))
    vulns = work.vuln_pks
    if vulns:
        _add(total, _run(asset_ids=None, vuln_pks=vulns, progress=None))
    if work.feeds_changed or work.exposure_changed:
        total.updated += refresh_priorities()
    _save_marks(marks)
    return total


def _add(total: MatchStats, part: MatchStats) -> None:
    total.assets += part.assets
    total.identities += part.identities
    total.vulnerabilities += part.vulnerabilities
    total.created += part.created
    total.updated += part.updated
    total.closed += part.closed
    total.unchanged += part.unchanged
    total.seconds += part.seconds


def rematch_names(names: Iterable[str]) -> MatchStats:
    """Re-match the assets and SBOMs whose vendor or product is one of ``names`` (aliases).

    Called when a person confirms or removes an alias: only items named by the alias group can
    change.
    """
    from medshield.assets.models import Asset
    from medshield.matching import normalize_name
    from medshield.sboms.models import Component, Sbom

    wanted = {normalize_name(n) for n in names if n}
    assets = {
        pk
        for pk, manufacturer, model in Asset.objects.values_list("pk", "manufacturer", "model")
        if normalize_name(manufacturer) in wanted or normalize_name(model) in wanted
    }
    sboms = {
        sbom
        for sbom, supplier, group, name in Component.objects.values_list(
            "sbom_id", "supplier", "group", "name"
        ).distinct()
        if {normalize_name(supplier), normalize_name(group), normalize_name(name)} & wanted
    }
    for sbom in Sbom.objects.filter(pk__in=sorted(sboms)):
        assets.update(sbom.applicable_assets().values_list("pk", flat=True))
    return rematch_assets(assets)
