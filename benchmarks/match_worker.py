"""The steps of benchmarks/match.py that run inside medshield (Django), one per child process.

Each step runs in its own process so that its peak memory (max RSS, measured by the parent with
/usr/bin/time) is that step's alone, and prints one JSON line of results on stdout.

Usage (the parent sets MEDSHIELD_DATA_DIR and DATABASE_URL):
  match_worker.py load DATA_DIR        assets and SBOMs into the register
  match_worker.py match_all            the whole fleet
  match_worker.py one_sbom TAG OUT     one asset's SBOM, its (product, version, CVE) set to OUT
  match_worker.py rematch FEED         import a daily update, then re-match what changed

The matching runs through medshield.findings.service when it exists. Until then it falls back to
the pure engine (RuleMatcher and an in-memory advisory index) over the same database rows, and
says so in its output ("path": "engine").
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# The benchmark calls the matching itself and times it; the automatic re-match after each
# commit (medshield/findings/signals.py) would otherwise run inside the timed imports.
settings.FINDINGS_AUTO_MATCH = False

from medshield.matching import (  # noqa: E402
    InMemoryAdvisoryService,
    InventoryItem,
    RuleMatcher,
    Source,
    StaticInventory,
    Vulnerability,
)

PHASES: dict[str, float] = defaultdict(float)


def _timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so that the time spent in it adds up under ``label``."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            PHASES[label] += time.perf_counter() - t0

    setattr(owner, name, wrapper)


def instrument() -> None:
    """Time the service's phases (reading, engine, writing) without changing what it does."""
    from medshield.findings import inputs, service

    _timed(inputs, "load_inventory", "read register and SBOMs")
    _timed(inputs, "candidate_vulnerabilities", "read candidate vulnerabilities")
    _timed(service, "InMemoryAdvisoryService", "engine: index candidates")
    _timed(InMemoryAdvisoryService, "query", "engine: query index")
    _timed(RuleMatcher, "match_item", "engine: match")
    _timed(service, "_write", "write findings")


def phases() -> dict[str, float]:
    return {k: round(v, 3) for k, v in PHASES.items()}


def has_service() -> bool:
    return importlib.util.find_spec("medshield.findings.service") is not None


def emit(**values: Any) -> None:
    print(json.dumps(values), flush=True)


# --- loading the register -------------------------------------------------------------------


def load(data_dir: str) -> None:
    from medshield.assets.models import Asset, AssetKind
    from medshield.sboms.importers import import_sbom

    folder = Path(data_dir)
    plan = json.loads((folder / "register.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    Asset.objects.bulk_create(
        (Asset(kind=AssetKind.MEDICAL_DEVICE, **row) for row in plan), batch_size=2000
    )
    assets_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    products = json.loads((folder / "products.json").read_text(encoding="utf-8"))
    components = 0
    for n, product in enumerate(products):
        path = folder / "sboms" / f"sbom-{n:04d}.json"
        result = import_sbom(path.read_bytes(), filename=path.name, product=tuple(product))
        components += result.components
    emit(
        assets=len(plan),
        assets_s=assets_s,
        sboms=len(products),
        components=components,
        sboms_s=time.perf_counter() - t0,
    )


# --- the engine fallback (until medshield.findings.service exists) ----------------------------


def engine_vulnerabilities(ids: list[str] | None = None) -> list[Vulnerability]:
    """The stored NVD configurations as the engine's vulnerabilities (AND/OR nodes)."""
    from msgspec.structs import replace

    from medshield.matching.loaders import stored_nvd_configurations
    from medshield.vulns.models import NvdConfigurations as Row

    rows = Row.objects.order_by("vulnerability_id")
    if ids is not None:
        rows = rows.filter(vulnerability__vuln_id__in=ids)
    out = []
    for vuln_id, data in rows.values_list("vulnerability__vuln_id", "data").iterator(
        chunk_size=20000
    ):
        rules = tuple(replace(rule, advisory=vuln_id) for rule in stored_nvd_configurations(data))
        out.append(
            Vulnerability.create({vuln_id}, advisories={vuln_id}, rules=rules, sources={Source.NVD})
        )
    return out


def engine_items(sbom_ids: list[int] | None = None) -> list[InventoryItem]:
    from medshield.sboms.models import Component

    rows = Component.objects.order_by("id")
    if sbom_ids is not None:
        rows = rows.filter(sbom_id__in=sbom_ids)
    return [
        InventoryItem(
            key=f"{sbom}:{pk}",
            vendor=supplier or group,
            product=name,
            version=version or None,
            cpes=(cpe,) if cpe else (),
            purl=purl or None,
            kind="component",
            asset_key=str(sbom),
        )
        for pk, sbom, supplier, group, name, version, cpe, purl in rows.values_list(
            "id", "sbom_id", "supplier", "group", "name", "version", "cpe", "purl"
        ).iterator(chunk_size=20000)
    ]


def _asset_sbom(tag: str) -> int:
    from medshield.assets.models import Asset
    from medshield.sboms.models import Sbom

    sbom = Sbom.objects.for_asset(Asset.objects.get(asset_tag=tag)).first()
    assert sbom is not None, f"no SBOM applies to {tag}"
    return sbom.pk


def _asset_components(tag: str) -> int:
    from medshield.sboms.models import Component

    return Component.objects.filter(sbom_id=_asset_sbom(tag)).count()


# --- steps ----------------------------------------------------------------------------------


class OutOfBudget(Exception):
    """The step ran past the benchmark's time budget."""


def _budget() -> tuple[int, int]:
    """(seconds, bytes) a full match may take before it is stopped and reported as such.

    The issue's targets are 30 s and 1 GB; the budget is far above them so that a miss is still
    measured, but bounded so that a runaway match cannot take the shared machine down with it.
    """
    seconds = int(os.environ.get("MATCH_BENCH_TIMEOUT", "600"))
    gigabytes = float(os.environ.get("MATCH_BENCH_MAX_GB", "6"))
    return seconds, int(gigabytes * (1 << 30))


def within_budget(run: Any) -> tuple[Any, str]:
    """(run()'s result, "") or (None, why it was stopped), under the time and memory budget."""
    import resource
    import signal

    seconds, memory = _budget()

    def expire(signum: int, frame: Any) -> None:
        raise OutOfBudget

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        return run(), ""
    except OutOfBudget:
        return None, f"stopped: no result after {seconds} s"
    except MemoryError:
        return None, f"stopped: out of its {memory >> 30} GB memory budget"
    finally:
        signal.alarm(0)


def match_all() -> None:
    if has_service():
        from medshield.findings import service

        instrument()
        t0, cpu = time.perf_counter(), time.process_time()
        result, error = within_budget(service.match_all)
        if error:
            emit(path="service", seconds=time.perf_counter() - t0, error=error, phases=phases())
            return
        emit(
            path="service",
            seconds=time.perf_counter() - t0,
            cpu_s=time.process_time() - cpu,
            result=str(result),
            phases=phases(),
            findings=result.created + result.updated + result.unchanged,
            stored=stored_rows(),
        )
        return
    t0 = time.perf_counter()
    vulns = engine_vulnerabilities()
    items = engine_items()
    loaded = time.perf_counter() - t0
    t1 = time.perf_counter()
    findings = RuleMatcher().match(StaticInventory(tuple(items)), InMemoryAdvisoryService(vulns))
    matched = time.perf_counter() - t1
    emit(
        path="engine",
        seconds=time.perf_counter() - t0,
        load_s=loaded,
        match_s=matched,
        vulnerabilities=len(vulns),
        items=len(items),
        findings=len(findings),
    )


def one_sbom(tag: str, out: str) -> None:
    if has_service():
        from medshield.assets.models import Asset
        from medshield.findings import service
        from medshield.findings.models import Finding

        asset = Asset.objects.get(asset_tag=tag)
        instrument()
        t0, cpu = time.perf_counter(), time.process_time()
        result = service.rematch_assets([asset.pk])
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
        rows = Finding.objects.filter(asset=asset, resolved_at__isnull=True).values_list(
            "component__name", "component__version", "vulnerability__vuln_id", "certainty"
        )
        pairs = sorted({(name or "", version or "", vuln) for name, version, vuln, _ in rows})
        Path(out).write_text(json.dumps(pairs), encoding="utf-8")
        emit(
            path="service",
            match_s=seconds,
            cpu_s=cpu,
            items=_asset_components(tag),
            findings=len(pairs),
            uncertain=sum(1 for *_, certainty in rows if certainty == "uncertain"),
            result=str(result),
            phases=phases(),
        )
        return
    sbom_id = _asset_sbom(tag)
    t0 = time.perf_counter()
    vulns = engine_vulnerabilities()
    index = InMemoryAdvisoryService(vulns)
    loaded = time.perf_counter() - t0
    items = engine_items([sbom_id])
    t1 = time.perf_counter()
    findings = RuleMatcher().match(StaticInventory(tuple(items)), index)
    matched = time.perf_counter() - t1
    pairs = sorted({(f.item.product, f.item.version or "", f.vulnerability) for f in findings})
    Path(out).write_text(json.dumps(pairs), encoding="utf-8")
    emit(
        path="engine",
        load_s=loaded,
        match_s=matched,
        items=len(items),
        findings=len(findings),
        uncertain=sum(1 for f in findings if f.certainty.value == "uncertain"),
    )


def rematch(feed: str) -> None:
    from medshield.vulns.importers import import_path

    data = json.loads(Path(feed).read_text(encoding="utf-8"))
    ids = [item["cve"]["id"] for item in data["vulnerabilities"]]
    t0 = time.perf_counter()
    workaround = ""
    try:
        record = import_path(feed)
    except TypeError as exc:
        if "offset-naive and offset-aware" not in str(exc):
            raise
        # medshield/vulns/importers/nvd.py (_Writer.to_datetime) hands SQLite's naive datetimes
        # back unchanged and then compares them with aware ones: re-importing a stored record
        # fails. Not ours to fix; shim it here so the re-match can still be measured, and say so.
        import datetime

        from medshield.vulns.importers import nvd

        original = nvd._Writer.to_datetime

        def aware(self: Any, value: Any) -> Any:
            value = original(self, value)
            if isinstance(value, datetime.datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=datetime.UTC)
            return value

        nvd._Writer.to_datetime = aware  # type: ignore[method-assign]
        workaround = f"worked around a bug of the NVD importer: {exc}"
        t0 = time.perf_counter()
        record = import_path(feed)
    imported = time.perf_counter() - t0
    if has_service():
        from medshield.findings import service
        from medshield.vulns.models import Vulnerability as Row

        pks = list(Row.objects.filter(vuln_id__in=ids).values_list("pk", flat=True))
        instrument()
        t0, cpu = time.perf_counter(), time.process_time()
        result, error = within_budget(lambda: service.rematch_vulnerabilities(pks))
        cpu = time.process_time() - cpu
        emit(
            path="service",
            error=error,
            workaround=workaround,
            import_s=imported,
            updated=record.updated,
            seconds=time.perf_counter() - t0,
            cpu_s=cpu,
            result=str(result),
            phases=phases(),
        )
        return
    t0 = time.perf_counter()
    vulns = engine_vulnerabilities(ids)
    items = engine_items()
    findings = RuleMatcher().match(StaticInventory(tuple(items)), InMemoryAdvisoryService(vulns))
    emit(
        path="engine",
        import_s=imported,
        updated=record.updated,
        seconds=time.perf_counter() - t0,
        findings=len(findings),
    )


def reset() -> None:
    """Forget every finding and match mark (for --reuse): the next match starts from scratch."""
    from medshield.findings.models import MatchState, Membership, Occurrence, Triage, Verdict

    deleted = 0
    for model in (Verdict, Occurrence, Membership, Triage, MatchState):
        deleted += model.objects.all()._raw_delete(model.objects.db)  # no per-row signals
    emit(deleted=deleted)


def stored_rows() -> dict[str, int]:
    """What the findings storage holds: verdicts, occurrences and memberships (not the view)."""
    from medshield.findings.models import Membership, Occurrence, Verdict

    return {
        "verdicts": Verdict.objects.count(),
        "occurrences": Occurrence.objects.count(),
        "memberships": Membership.objects.count(),
    }


if __name__ == "__main__":
    step, *args = sys.argv[1:]
    steps = {
        "load": load,
        "reset": reset,
        "match_all": match_all,
        "one_sbom": one_sbom,
        "rematch": rematch,
    }
    steps[step](*args)
