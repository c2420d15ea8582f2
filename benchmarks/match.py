"""Matching benchmark: the fleet's SBOMs against an NVD-sized data set, medshield vs cve-bin-tool.

Usage: .venv/bin/python benchmarks/match.py [--quick] [--no-peer] [--skip-fleet]
       [--cbt-venv DIR] [--keep | --reuse DIR]
       [--records N] [--assets N] [--sboms N] [--components N] [--updates N]

It builds benchmarks/nvd.py's synthetic NVD feeds (400,000 records, about 1.6 million cpeMatch
ranges), 1,000 CycloneDX SBOMs of 300 components drawn from a pool of products those records
name (see benchmarks/match_data.py), and a register of 10,000 assets, ten of each device
product, each SBOM attached to its product. All of it goes through medshield's own importers
into a fresh SQLite database in a temporary MEDSHIELD_DATA_DIR. Then it times, each in its own
process (so its peak RSS is its own):

* the full match of the fleet (``medshield.findings.service.match_all``);
* one SBOM (the SBOM of one asset, 300 components) against the whole data set;
* the re-match after a daily update: 1,000 changed NVD records are imported, then
  ``rematch_vulnerabilities`` re-matches what they touch (the import is reported, not counted).

Side by side it runs cve-bin-tool 3.4 (PyPI, in its own venv, never the project's) on the same
SBOM offline, with the same records in its own ``cve.db`` (written through its --import-json
layout by benchmarks/nvd.py's flattening) under a temporary HOME. Both sets of
(component, version, CVE) must agree before the speed ratio is printed.

Every step is measured by benchmarks/nvd.py's run_measured: wall time, CPU time of the process
and its children, and sampled peak RSS. On a shared machine the CPU time is the steadier figure;
both are printed, and the service's own phases (reading, engine, writing) are timed inside the
step by match_worker.py. A full match is stopped after MATCH_BENCH_TIMEOUT seconds (600) or
MATCH_BENCH_MAX_GB (6) of address space and reported as such. ``--keep`` leaves the folder
(with a copy of the database as imported); ``--reuse`` times the matching again on it.

Until medshield.findings.service exists the medshield side runs the pure engine over the same
database rows and says so ("engine" in the table). Create the peer's venv with:
``python3 -m venv /tmp/cbt-match-venv && /tmp/cbt-match-venv/bin/pip install cve-bin-tool==3.4``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from match_data import (  # noqa: E402
    component_pool,
    daily_update,
    register_plan,
    sbom_documents,
)
from nvd import (  # noqa: E402  (the nvd helper's feeds, cve-bin-tool import and timing)
    Measured,
    cbt_import,
    cbt_prepare,
    generate,
    medshield_import,
    run_measured,
    to_cbt_export,
)

SEED = 7  # benchmarks/nvd.py's default: the pool must come from the same product list
FULL = {"records": 400_000, "assets": 10_000, "sboms": 1_000, "components": 300, "updates": 1_000}
QUICK = {"records": 20_000, "assets": 200, "sboms": 20, "components": 300, "updates": 100}


def worker(env: dict[str, str], *args: str) -> tuple[dict[str, Any], Measured]:
    """Run one step of match_worker.py; (its JSON result, the measured run)."""
    run = run_measured([sys.executable, str(HERE / "match_worker.py"), *args], env)
    out, err = run.result.stdout, run.result.stderr
    if run.result.returncode != 0:
        raise SystemExit(f"match_worker {' '.join(args)} failed:\n{out}\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), run


def cbt_scan(cbt_bin: Path, home: Path, sbom: Path, out: Path) -> tuple[Measured, str]:
    """(the run, error text) of cve-bin-tool scanning one CycloneDX SBOM offline."""
    run = run_measured(
        [
            str(cbt_bin),
            "--sbom",
            "cyclonedx",
            "--sbom-file",
            str(sbom.resolve()),
            "--offline",
            "--disable-version-check",
            "-f",
            "json",
            "-o",
            str(out.resolve()),
        ],  # fmt: skip
        {**os.environ, "HOME": str(home)},
        cwd=home,  # it leaves an output.cve-bin-tool.<date>.json in its working folder
    )
    # cve-bin-tool exits with the number of products with CVEs: only a missing report is an error.
    text = run.result.stdout + run.result.stderr
    error = "" if out.exists() else f"exit {run.result.returncode}, no report:\n{text[-1500:]}"
    return run, error


def usage(run: Measured) -> str:
    return f"CPU {run.cpu_seconds:.1f} s, peak {run.peak_mb:,.0f} MB"


def cbt_pairs(report: Path) -> set[tuple[str, str, str]]:
    rows = json.loads(report.read_text(encoding="utf-8") or "[]")
    return {(r["product"], r["version"], r["cve_number"]) for r in rows}


def snapshot(source: Path, target: Path) -> None:
    """Copy an SQLite database with its write-ahead log (the backup API), replacing ``target``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def phase_rows(figures: list[tuple[str, str, str]], result: dict[str, Any]) -> None:
    """The service's phases (see match_worker.instrument) as indented rows."""
    phases = result.get("phases") or {}
    engine = sum(v for k, v in phases.items() if k.startswith("engine"))
    for label, seconds in phases.items():
        figures.append((f"    {label}", f"{seconds:.2f} s", ""))
    if phases:
        figures.append(("    engine in all", f"{engine:.2f} s", ""))


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<66} {value:>10}  {note}")


def build(
    work: Path, sizes: dict[str, int]
) -> tuple[list[Path], list[tuple[str, str, str]], list[dict[str, str]]]:
    """Write the feeds, the SBOMs and the register plan into ``work``."""
    feeds = work / "nvd"
    feeds.mkdir()
    t0 = time.perf_counter()
    paths, records, ranges = generate(feeds, sizes["records"], SEED)
    data = work / "data"
    (data / "sboms").mkdir(parents=True)
    pool = component_pool(SEED)
    docs = sbom_documents(pool, sizes["sboms"], sizes["components"], SEED)
    for n, (_, doc) in enumerate(docs):
        (data / "sboms" / f"sbom-{n:04d}.json").write_text(json.dumps(doc), encoding="utf-8")
    products = [p for p, _ in docs]
    (data / "products.json").write_text(json.dumps(products), encoding="utf-8")
    plan = register_plan(products, sizes["assets"], SEED)
    (data / "register.json").write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    print(
        f"generated {records:,} NVD records ({ranges:,} cpeMatch ranges), "
        f"{len(docs):,} SBOMs of {sizes['components']} components from a pool of "
        f"{sum(len(v) for v in pool):,} component versions, {len(plan):,} assets "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return paths, products, plan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    for name in FULL:
        parser.add_argument(f"--{name}", type=int, default=None)
    parser.add_argument("--no-peer", action="store_true", help="skip cve-bin-tool")
    parser.add_argument("--skip-fleet", action="store_true", help="skip the full match")
    parser.add_argument("--cbt-venv", default="/tmp/cbt-match-venv", help="cve-bin-tool's venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="the folder a --keep run left: skip generating and importing, clear the findings "
        "and time the matching again (the sizes must be those of that run)",
    )
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for name in FULL:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)

    work = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="medshield-match-"))
    keep = args.keep or bool(args.reuse)
    figures: list[tuple[str, str, str]] = []
    env = dict(os.environ)
    env["MEDSHIELD_DATA_DIR"] = str(work)
    env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "medshield.settings"
    feeds = work / "nvd"
    data = work / "data"
    try:
        if args.reuse:
            paths = sorted(feeds.glob("nvdcve-2.0-*.json"))
            products = [tuple(p) for p in json.loads((data / "products.json").read_text("utf-8"))]
            plan = json.loads((data / "register.json").read_text("utf-8"))
            docs = [(p, {}) for p in products]
            # The state right after the imports: no findings, no daily update applied yet.
            snapshot(work / "bench-base.sqlite3", work / "bench.sqlite3")
            # Other apps may have gained migrations since that run.
            migrate = [str(Path(sys.executable).parent / "medshield"), "migrate", "--no-input"]
            subprocess.run([*migrate, "-v", "0"], env=env, check=True)
            print(f"reusing {work} (its database as imported, before any match)")
        else:
            paths, products, plan = build(work, sizes)
            docs = [(p, {}) for p in products]
            # --- medshield: import ---------------------------------------------------------
            run, counts = medshield_import(paths, work)
            print(f"medshield feeds import: {run.seconds:.1f} s ({usage(run)}); {counts}")
            loaded, run = worker(env, "load", str(data))
            print(
                f"register: {loaded['assets']:,} assets in {loaded['assets_s']:.1f} s; "
                f"{loaded['sboms']:,} SBOMs, {loaded['components']:,} components imported in "
                f"{loaded['sboms_s']:.1f} s ({usage(run)})"
            )
            if keep:
                snapshot(work / "bench.sqlite3", work / "bench-base.sqlite3")

        # --- medshield: one SBOM (on the fresh register), then the fleet -------------------
        ours_file = work / "medshield-one.json"
        one, one_run = worker(env, "one_sbom", plan[0]["asset_tag"], str(ours_file))
        ours = {tuple(p) for p in json.loads(ours_file.read_text(encoding="utf-8"))}
        print(f"one SBOM ({one['path']}): {json.dumps(one)}")
        figures.append(
            (
                f"one SBOM, {one['items']} components ({one['path']}, whole process)",
                f"{one_run.seconds:.1f} s",
                usage(one_run),
            )
        )
        figures.append(
            (
                "  of which the match call",
                f"{one['match_s']:.2f} s",
                f"CPU {one.get('cpu_s', 0):.2f} s",
            )
        )
        phase_rows(figures, one)

        if not args.skip_fleet:
            fleet, fleet_run = worker(env, "match_all")
            path = fleet["path"]
            print(f"full match ({path}): {json.dumps(fleet)}")
            figures.append(
                (
                    f"full match, {len(plan):,} assets / {len(docs):,} SBOMs ({path}, process)",
                    f"{fleet_run.seconds:.1f} s",
                    f"target < 30 s; CPU {fleet_run.cpu_seconds:.1f} s",
                )
            )
            figures.append(
                ("  peak memory of the full match", f"{fleet_run.peak_mb:,.0f} MB", "target < 1 GB")
            )
            if fleet.get("error"):
                figures.append(("  FULL MATCH " + fleet["error"], "", ""))
            shown = f"{fleet.get('findings', 0):,}"
            figures.append(("  findings (per asset, vulnerability, component)", shown, ""))
            for name, count in (fleet.get("stored") or {}).items():
                figures.append((f"  rows stored: {name}", f"{count:,}", ""))
            phase_rows(figures, fleet)

        # --- cve-bin-tool on the same SBOM --------------------------------------------------
        verdict = "not run (--no-peer)"
        agreed: Measured | None = None  # cve-bin-tool's run, once the findings agree
        if not args.no_peer:
            cbt_bin = Path(args.cbt_venv) / "bin" / "cve-bin-tool"
            export = work / "cbt-export"
            home = work / "cbt-home"
            problem = None
            if not (home / ".cache" / "cve-bin-tool" / "cve.db").exists():
                shutil.rmtree(export, ignore_errors=True)
                shutil.rmtree(home, ignore_errors=True)
                rows = to_cbt_export(paths, export)
                home.mkdir()
                problem = cbt_prepare(cbt_bin, home, export)
            else:
                rows = 0
                print(f"cve-bin-tool: reusing {home}")
            if problem is None and rows:
                imported, imp_rows, error = cbt_import(cbt_bin, home, export)
                problem = f"import failed: {error}" if error or not imp_rows else None
                print(
                    f"cve-bin-tool --import-json of {rows:,} rows: {imported.seconds:.1f} s "
                    f"({usage(imported)}; not part of the comparison)"
                )
            if problem is None:
                report = work / "cbt-report.json"
                sbom = data / "sboms" / "sbom-0000.json"
                cbt_run, error = cbt_scan(cbt_bin, home, sbom, report)
                problem = error or None
            if problem is not None:
                verdict = f"not measured: {problem}"
            else:
                theirs = cbt_pairs(report)
                figures.append(
                    (
                        "cve-bin-tool 3.4, the same SBOM offline (whole process)",
                        f"{cbt_run.seconds:.1f} s",
                        usage(cbt_run),
                    )
                )
                if ours == theirs:
                    verdict = f"agree: the same {len(ours):,} (component, version, CVE) findings"
                    agreed = cbt_run
                else:
                    only_ours = sorted(ours - theirs)
                    only_theirs = sorted(theirs - ours)
                    verdict = (
                        f"DISAGREE: medshield {len(ours):,}, cve-bin-tool {len(theirs):,}; "
                        f"only medshield {len(only_ours)} e.g. {only_ours[:5]}; "
                        f"only cve-bin-tool {len(only_theirs)} e.g. {only_theirs[:5]}"
                    )

        # --- daily update -------------------------------------------------------------------
        with sqlite3.connect(work / "bench.sqlite3") as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT vuln_id FROM vulns_vulnerability WHERE nvd_status != 'Rejected'"
                )
            ]
        changed = random.Random(SEED).sample(ids, min(sizes["updates"], len(ids)))
        feed = daily_update(sorted(changed), SEED, work)
        re, re_run = worker(env, "rematch", str(feed))
        print(f"daily update ({re['path']}): {json.dumps(re)}")
        figures.append(
            (
                f"re-match after {len(changed):,} changed records ({re['path']})",
                f"{re['seconds']:.2f} s",
                f"target < 2 s; CPU {re.get('cpu_s', 0):.2f} s",
            )  # fmt: skip
        )
        figures.append(("  (the update's import, not counted)", f"{re['import_s']:.1f} s", ""))
        if re.get("error"):
            figures.append(("  RE-MATCH " + re["error"], "", ""))
        if re.get("workaround"):
            figures.append(("  NOTE: " + re["workaround"], "", ""))
        phase_rows(figures, re)

        # --- summary ------------------------------------------------------------------------
        print()
        print(f"medshield matching benchmark ({'quick' if args.quick else 'full'} sizes: {sizes})")
        for label, value, note in figures:
            row(label, value, note)
        print(f"  findings for that SBOM: {verdict}")
        if agreed is not None:
            for label, ratio in (
                ("whole processes, wall", agreed.seconds / one_run.seconds),
                ("whole processes, CPU", agreed.cpu_seconds / one_run.cpu_seconds),
                ("against medshield's match call, wall", agreed.seconds / one["match_s"]),
                (
                    "against medshield's match call, CPU",
                    agreed.cpu_seconds / (one.get("cpu_s") or one["match_s"]),
                ),
            ):
                row(f"speed, one SBOM, cve-bin-tool / medshield: {label}", f"{ratio:.1f}x")
            print("    target >= 60x; a whole process includes start-up (Django's, Python's).")
        elif not args.no_peer:
            print("  no speed ratio: the findings differ or cve-bin-tool did not run")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
