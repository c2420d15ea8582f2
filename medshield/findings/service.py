"""Matching the register against the feeds, and keeping the stored verdicts in step.

Three entry points (the benchmark and the commands call them by these names):

* :func:`match_all` matches every asset and SBOM against every vulnerability;
* :func:`rematch_vulnerabilities` matches the whole inventory against a few vulnerabilities
  (after a feed import);
* :func:`rematch_assets` matches a few assets against every vulnerability (after a register or
  SBOM change).

Each converts rows to the engine's inputs (:mod:`medshield.findings.inputs`), matches once per
distinct identity, and writes the result in one transaction, once per identity rather than once
per asset (see :mod:`medshield.findings.models` for the tables and the per-asset view):

1. verdicts (identity x vulnerability) in scope are created, updated when their fingerprint
   changed, or closed when the identity no longer matches; unchanged ones only get a new
   ``last_seen``. New rows go in as plain batched INSERTs, without history;
2. a run over assets brings their group memberships (device product, SBOMs) in step, closing
   the findings of a group an asset left, and the occurrences of those groups;
3. the counts in :class:`MatchStats` are per asset (a verdict shared by ten assets that appears
   is ten findings created), as the pages show them.

A status a person set lives in a triage row per asset and is never touched here.
:func:`rematch_pending` is what the signals run after a commit: it works out from the history
and feed marks what changed since the last run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from medshield.core.locks import exclusive
from medshield.findings import inputs
from medshield.findings.models import (
    Finding,
    MatchState,
    Membership,
    Occurrence,
    Verdict,
)
from medshield.findings.priority import PriorityInput, base_points
from medshield.matching import Certainty, InMemoryAdvisoryService, RuleMatcher, gc_paused
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

#: one re-match at a time across app processes and job workers (see medshield.core.locks)
LOCK = "findings-match"


def match_all(progress: Progress | None = None) -> MatchStats:
    """Match the whole register against every vulnerability; close what no longer matches."""
    with exclusive(LOCK):
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


def identity_digest(key: str) -> str:
    """The stored identity of an engine item key (keys can be long: names, purl and CPEs)."""
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def sbom_group(sbom_id: int) -> str:
    """The group key of the assets an SBOM applies to."""
    return f"sbom:{sbom_id}"


def _run(
    *, asset_ids: set[int] | None, vuln_pks: set[int] | None, progress: Progress | None
) -> MatchStats:
    with exclusive(LOCK):
        return _run_alone(asset_ids=asset_ids, vuln_pks=vuln_pks, progress=progress)


def _run_alone(
    *, asset_ids: set[int] | None, vuln_pks: set[int] | None, progress: Progress | None
) -> MatchStats:
    from medshield.assets.models import Asset

    started = time.perf_counter()
    stats = MatchStats()
    if not Asset.objects.exists():
        # No register yet (a first feed load): nothing to match, and findings die with assets.
        stats.seconds = time.perf_counter() - started
        return stats
    # Rows, rules and findings are many small objects without cycles: each collection the
    # reading and the matching would trigger rescans everything loaded (see gc_paused).
    with gc_paused():
        inventory, found, info = _match(asset_ids, vuln_pks, progress, stats)
        with transaction.atomic():
            _write(inventory, found, info, asset_ids, vuln_pks, stats)
    stats.seconds = time.perf_counter() - started
    return stats


def _match(
    asset_ids: set[int] | None,
    vuln_pks: set[int] | None,
    progress: Progress | None,
    stats: MatchStats,
) -> tuple[inputs.Inventory, dict[str, list[EngineFinding]], dict[str, inputs.VulnInfo]]:
    """The inventory in scope, its findings by identity key, and the candidates' details."""
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
    matcher = RuleMatcher(aliases, inputs.vex_statements() if vulns else (), names=service.names)
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
    return inventory, found, info


def _verdict_values(f: EngineFinding, vuln: inputs.VulnInfo) -> dict[str, Any]:
    """What the engine says of one identity and one vulnerability, as stored."""
    base, _terms = base_points(
        PriorityInput(
            cvss3=vuln.cvss3,
            cvss4=vuln.cvss4,
            kev=vuln.kev,
            epss=vuln.epss,
            criticality="",
            exposed_by=(),
            uncertain=f.certainty is Certainty.UNCERTAIN,
        )
    )
    return {
        "advisories": sorted(f.advisories),
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
        "cvss3_score": vuln.cvss3,
        "cvss4_score": vuln.cvss4,
        "kev": vuln.kev,
        "epss": vuln.epss,
        "base_priority": base,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (
            a is not None and b is not None and Decimal(a) == Decimal(b)
        )
    return bool(a == b)


def fingerprint(values: dict[str, Any]) -> str:
    """A digest of what the engine says of an identity and a vulnerability.

    Stored on the verdict so that a re-run compares one short string per verdict instead of
    loading every verdict's evidence and reason.
    """
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class _Groups:
    """The groups (device products, SBOMs) the inventory's assets are in, and what they hold."""

    #: group -> the assets in it (of this inventory)
    members: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: (group, identity) -> (component id, component key, component label); first target wins
    occurrences: dict[tuple[str, str], tuple[int | None, str, str]] = field(default_factory=dict)
    #: identity -> the groups it is in
    groups_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _groups(inventory: inputs.Inventory, digests: dict[str, str], occurring: set[str]) -> _Groups:
    """Every group of the inventory's assets; occurrences only of the ``occurring`` identities."""
    out = _Groups()
    for sbom_id, assets in inventory.sbom_assets.items():
        out.members[sbom_group(sbom_id)].update(assets)
    for key, targets in inventory.targets.items():
        digest = digests.get(key)
        if digest is None:
            continue
        for t in targets:
            if t.asset_id is not None:
                group = digest  # a device identity is its own group
                out.members[group].add(t.asset_id)
            else:
                group = sbom_group(t.sbom_id or 0)
            if digest not in occurring:
                continue
            out.occurrences.setdefault(
                (group, digest), (t.component_id, t.component_key, t.component_label)
            )
            out.groups_of[digest].add(group)
    return out


def _insert(model: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Plain INSERTs in batches: no model instances, no signals, no history."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from _meta
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def _write(
    inventory: inputs.Inventory,
    found: dict[str, list[EngineFinding]],
    info: dict[str, inputs.VulnInfo],
    asset_ids: set[int] | None,
    vuln_pks: set[int] | None,
    stats: MatchStats,
) -> None:
    """Write verdicts, occurrences and memberships; count what changed per asset.

    Verdicts in scope (every one; those of the re-matched identities; or those of the
    re-matched vulnerabilities) are created, updated or closed. A run over assets also brings
    their group memberships and their groups' occurrences in step with the register.
    """
    now = timezone.now()
    digests = {key: identity_digest(key) for key in inventory.items}
    wanted: dict[tuple[str, int], dict[str, Any]] = {}
    for key, findings in found.items():
        for f in findings:
            vuln = info[f.vulnerability]
            wanted.setdefault((digests[key], vuln.pk), _verdict_values(f, vuln))

    # -- verdicts ---------------------------------------------------------------------------
    existing_qs = Verdict.objects.all()
    if vuln_pks is not None:
        existing_qs = existing_qs.filter(vulnerability_id__in=sorted(vuln_pks))
    existing: dict[tuple[str, int], tuple[int, str, bool]] = {}
    names = ("pk", "identity", "vulnerability_id", "fingerprint", "resolved_at")
    if asset_ids is not None and vuln_pks is None:
        batches: Iterable[Any] = (
            existing_qs.filter(identity__in=batch).values_list(*names)
            for batch in inputs.chunks(sorted(set(digests.values())))
        )
    else:
        batches = [existing_qs.values_list(*names).iterator(5000)]
    for rows in batches:
        for pk, identity, vuln, fp, resolved in rows:
            existing[(identity, vuln)] = (pk, fp, resolved is None)
    new_rows: list[tuple[Any, ...]] = []
    to_update: list[Verdict] = []
    seen: list[int] = []
    outcome: dict[tuple[str, int], str] = {}
    columns = [
        "identity",
        "vulnerability_id",
        *_VERDICT_FIELDS,
        "first_seen",
        "last_seen",
        "resolved_at",
        "fingerprint",
    ]
    dumps = Verdict._meta.get_field("advisories").get_db_prep_value
    db = connections[DEFAULT_DB_ALIAS]  # not the ``connection`` proxy, which looks it up per use
    for (identity, vuln_pk), values in wanted.items():
        fp = fingerprint(values)
        row = existing.get((identity, vuln_pk))
        if row is None:
            outcome[(identity, vuln_pk)] = "created"
            new_rows.append(
                (
                    identity,
                    vuln_pk,
                    *(
                        dumps(values[name], db) if name in _JSON_FIELDS else values[name]
                        for name in _VERDICT_FIELDS
                    ),
                    now,
                    now,
                    None,
                    fp,
                )
            )
            continue
        pk, old_fp, open_ = row
        if old_fp == fp and open_:
            outcome[(identity, vuln_pk)] = "unchanged"
            seen.append(pk)
            continue
        outcome[(identity, vuln_pk)] = "updated"
        to_update.append(Verdict(pk=pk, fingerprint=fp, last_seen=now, resolved_at=None, **values))
    _insert(Verdict, columns, new_rows)
    Verdict.objects.bulk_update(
        to_update, [*_VERDICT_FIELDS, "fingerprint", "last_seen", "resolved_at"], batch_size=BATCH
    )
    for batch in inputs.chunks(seen):
        Verdict.objects.filter(pk__in=batch).update(last_seen=now)
    closing = [
        (key, pk) for key, (pk, _fp, open_) in existing.items() if open_ and key not in wanted
    ]
    for batch in inputs.chunks([pk for _key, pk in closing]):
        Verdict.objects.filter(pk__in=batch).update(resolved_at=now)
    for key, _pk in closing:
        outcome[key] = "closed"

    # -- groups: who is in which, and what each holds (runs over assets only) ----------------
    joined: dict[str, int] = defaultdict(int)  # group -> assets that joined it now
    left: dict[str, int] = defaultdict(int)  # group -> assets that left it now
    groups_of: dict[str, set[str]] = defaultdict(set)
    if vuln_pks is None:
        with_verdicts = {identity for identity, _ in wanted} | {i for i, _ in existing}
        groups = _groups(inventory, digests, with_verdicts)
        groups_of = groups.groups_of
        _write_memberships(inventory, asset_ids, groups, now, joined, left)
        _write_occurrences(groups)
    else:
        _add_occurrences(inventory, digests, {identity for identity, _ in wanted})

    # -- per-asset counts ----------------------------------------------------------------------
    weights = _weights({identity for identity, _ in outcome})
    for (identity, _vuln), what in outcome.items():
        newcomers = sum(joined.get(g, 0) for g in groups_of.get(identity, ()))
        before = max(0, weights.get(identity, 0) - newcomers)
        if what == "created":
            stats.created += before + newcomers
        else:
            setattr(stats, what, getattr(stats, what) + before)
            if what != "closed":
                stats.created += newcomers
    if left:
        for group, count in _open_verdicts(set(left)).items():
            stats.closed += count * left[group]


#: the verdict fields the engine writes (all but its bookkeeping)
_VERDICT_FIELDS = (
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
    "base_priority",
)
#: the verdict fields stored as JSON (written through the field's own database preparation)
_JSON_FIELDS = frozenset(
    name
    for name in _VERDICT_FIELDS
    if Verdict._meta.get_field(name).get_internal_type() == "JSONField"
)


def _write_memberships(
    inventory: inputs.Inventory,
    asset_ids: set[int] | None,
    groups: _Groups,
    now: Any,
    joined: dict[str, int],
    left: dict[str, int],
) -> None:
    """Bring the memberships of the inventory's assets in step; count joins and departures."""
    wanted = {(g, a) for g, assets in groups.members.items() for a in assets}
    existing: dict[tuple[str, int], tuple[int, bool]] = {}
    qs = Membership.objects.all()
    names = ("pk", "group_key", "asset_id", "until")
    if asset_ids is None:
        rows: Iterable[Any] = qs.values_list(*names).iterator(5000)
    else:
        scope = sorted(inventory.asset_ids | asset_ids)
        rows = [
            r for b in inputs.chunks(scope) for r in qs.filter(asset_id__in=b).values_list(*names)
        ]
    for pk, group, asset, until in rows:
        existing[(group, asset)] = (pk, until is None)
    new = [pair for pair in wanted if pair not in existing]
    reopen = [existing[pair][0] for pair in wanted if pair in existing and not existing[pair][1]]
    ending = [
        (pair, pk) for pair, (pk, active) in existing.items() if active and pair not in wanted
    ]
    _insert(
        Membership, ["group_key", "asset_id", "since", "until"], [(g, a, now, None) for g, a in new]
    )
    for batch in inputs.chunks(reopen):
        Membership.objects.filter(pk__in=batch).update(until=None)
    for batch in inputs.chunks([pk for _pair, pk in ending]):
        Membership.objects.filter(pk__in=batch).update(until=now)
    for group, _asset in new:
        joined[group] += 1
    for pk_pair in wanted:
        if pk_pair in existing and not existing[pk_pair][1]:
            joined[pk_pair[0]] += 1
    for (group, _asset), _pk in ending:
        left[group] += 1


def _write_occurrences(groups: _Groups) -> None:
    """The occurrences of the groups the run's assets are in, as the inventory has them now.

    Only identities with a verdict have occurrences: the other components of an SBOM (most of
    them) have nothing to show.
    """
    scope = sorted(groups.members)
    existing: dict[tuple[str, str], tuple[int, tuple[int | None, str, str]]] = {}
    for batch in inputs.chunks(scope):
        for pk, group, identity, component, key, label in Occurrence.objects.filter(
            group_key__in=batch
        ).values_list(
            "pk", "group_key", "identity", "component_id", "component_key", "component_label"
        ):
            existing[(group, identity)] = (pk, (component, key, label))
    new_rows = []
    changed: list[Occurrence] = []
    for pair, value in groups.occurrences.items():
        row = existing.get(pair)
        if row is None:
            new_rows.append((*pair, *value))
        elif row[1] != value:
            changed.append(
                Occurrence(
                    pk=row[0],
                    component_id=value[0],
                    component_key=value[1],
                    component_label=value[2],
                )
            )
    gone = [pk for pair, (pk, _v) in existing.items() if pair not in groups.occurrences]
    for batch in inputs.chunks(gone):
        Occurrence.objects.filter(pk__in=batch).delete()
    _insert(
        Occurrence,
        ["group_key", "identity", "component_id", "component_key", "component_label"],
        new_rows,
    )
    Occurrence.objects.bulk_update(
        changed, ["component_id", "component_key", "component_label"], batch_size=BATCH
    )


def _add_occurrences(
    inventory: inputs.Inventory, digests: dict[str, str], identities: set[str]
) -> None:
    """After re-matching vulnerabilities: occurrences for identities matched for the first time."""
    known: set[str] = set()
    for batch in inputs.chunks(sorted(identities)):
        known.update(
            Occurrence.objects.filter(identity__in=batch).values_list("identity", flat=True)
        )
    fresh = identities - known
    if not fresh:
        return
    groups = _groups(inventory, digests, fresh)
    _insert(
        Occurrence,
        ["group_key", "identity", "component_id", "component_key", "component_label"],
        [(*pair, *value) for pair, value in groups.occurrences.items()],
    )


def _weights(identities: set[str]) -> dict[str, int]:
    """Identity -> how many current group memberships show it (its assets, in practice)."""
    out: dict[str, int] = defaultdict(int)
    for batch in inputs.chunks(sorted(identities)):
        occurrences = Occurrence.objects.filter(identity__in=batch).values_list(
            "group_key", "identity"
        )
        by_group: dict[str, list[str]] = defaultdict(list)
        for group, identity in occurrences:
            by_group[group].append(identity)
        counts = (
            Membership.objects.filter(group_key__in=sorted(by_group), until__isnull=True)
            .values("group_key")
            .annotate(n=Count("pk"))
            .values_list("group_key", "n")
        )
        for group, n in counts:
            for identity in by_group[group]:
                out[identity] += n
    return out


def _open_verdicts(groups: set[str]) -> dict[str, int]:
    """Group -> how many open verdicts it shows."""
    out: dict[str, int] = defaultdict(int)
    for batch in inputs.chunks(sorted(groups)):
        pairs = Occurrence.objects.filter(group_key__in=batch).values_list("group_key", "identity")
        by_identity: dict[str, list[str]] = defaultdict(list)
        for group, identity in pairs:
            by_identity[identity].append(group)
        for chunk in inputs.chunks(sorted(by_identity)):
            counts = (
                Verdict.objects.filter(identity__in=chunk, resolved_at__isnull=True)
                .values("identity")
                .annotate(n=Count("pk"))
                .values_list("identity", "n")
            )
            for identity, n in counts:
                for group in by_identity[identity]:
                    out[group] += n
    return out


# ---------------------------------------------------------------------------------------------
# Scores without re-matching


def refresh_priorities(asset_ids: Iterable[int] | None = None) -> int:
    """Bring the verdicts' scores and base priority in step with the feeds (KEV, EPSS, CVSS).

    They change daily without changing what matches. Exposure and clinical criticality need
    nothing: the findings view reads them from the register. ``asset_ids`` is accepted for
    callers of the per-asset design and ignored (verdicts are shared). Returns how many
    verdicts changed.
    """
    fields = (
        "pk",
        "certainty",
        "cvss3_score",
        "cvss4_score",
        "kev",
        "epss",
        "base_priority",
        "vulnerability__cvss3_score",
        "vulnerability__cvss4_score",
        "vulnerability__kev",
        "vulnerability__epss_score",
    )
    updates: list[Verdict] = []
    for row in Verdict.objects.values(*fields).iterator(5000):
        base, _terms = base_points(
            PriorityInput(
                cvss3=row["vulnerability__cvss3_score"],
                cvss4=row["vulnerability__cvss4_score"],
                kev=row["vulnerability__kev"],
                epss=row["vulnerability__epss_score"],
                criticality="",
                exposed_by=(),
                uncertain=row["certainty"] == Certainty.UNCERTAIN.value,
            )
        )
        values = {
            "cvss3_score": row["vulnerability__cvss3_score"],
            "cvss4_score": row["vulnerability__cvss4_score"],
            "kev": row["vulnerability__kev"],
            "epss": row["vulnerability__epss_score"],
            "base_priority": base,
        }
        if any(not _same(row[k], v) for k, v in values.items()):
            # The fingerprint no longer describes the row; the next run rewrites it whole.
            updates.append(Verdict(pk=row["pk"], fingerprint="", **values))
    with transaction.atomic():
        Verdict.objects.bulk_update(updates, [*_PRIORITY_FIELDS, "fingerprint"], batch_size=BATCH)
    return len(updates)


_PRIORITY_FIELDS = ("cvss3_score", "cvss4_score", "kev", "epss", "base_priority")


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
        ).values_list("object_type_id", "object_id", "object_repr", "data", "action", "changes")
        sboms: set[int] = set()
        vex_vulns: set[str] = set()
        for type_id, object_id, repr_, data, action, changed in changes.iterator(5000):
            ct = ContentType.objects.get_for_id(type_id)
            label = f"{ct.app_label}.{ct.model}"
            if label == "assets.asset":
                # An edit of the notes or the room matches as before: only what matching reads.
                if inputs.asset_change_matters(action, changed):
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
    with exclusive(LOCK):
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
