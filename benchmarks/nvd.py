"""NVD import benchmark: an NVD-sized data set imported by medshield and by cve-bin-tool.

Usage: .venv/bin/python benchmarks/nvd.py [--records 400000] [--runs 1] [--no-peer]
       [--cbt-venv /tmp/cbt-venv] [--skip-raw] [--skip-bundle] [--work DIR] [--keep]

It writes about 400,000 synthetic CVE records in NVD CVE API 2.0 JSON shape (descriptions in
English and Spanish, CVSS v3.1 and some v2/v4 metrics, weaknesses, references, and
configurations with cpeMatch criteria and version ranges: about 4 per record, 1.6 million in all,
some in the "firmware running on hardware" AND form) as yearly feed files
(``nvdcve-2.0-YYYY.json``) into a temporary folder, then times two imports into a fresh SQLite
database (per record: a vulnerability row, its configurations as one JSON value and its distinct
vendor/product keys; see medshield.vulns.models.NvdConfigurations):

* ``medshield feeds import`` of the bundle ``medshield feeds bundle`` made of the files: the
  closed network's way. The bundle carries the records *prepared* (read on the connected
  machine into the rows medshield stores, see medshield.vulns.importers.nvd_prepared), so
  making it is not timed, as cve-bin-tool's export below is not;
* ``medshield feeds import`` of the NVD JSON files themselves (``--skip-raw`` leaves it out).

For each it reports the time, records/s, the CPU time (user + system, with child processes) and
the peak memory: the largest sum of the resident memory of the importing process and its
children (the raw import parses large files in a forked process, the bundle import checks the
prepared file in two), sampled every 50 ms. Each timed run starts with the disk flushed.
On a shared machine the wall time stretches with the others' load; the CPU time much less.

Side by side it times cve-bin-tool 3.4 (PyPI, in its own venv: never in the project's) importing
the same records offline with ``--import-json DIR --ignore-sig``. That option reads
cve-bin-tool's own export layout (``metadata.json`` plus per-table, per-year JSON of its
``cve_severity`` and ``cve_range`` rows), not NVD JSON, so the same records are flattened into that
layout first, the way cve-bin-tool's NVD source flattens them (one ``cve_range`` row per cpeMatch
entry); that flattening is not timed. It runs with a temporary HOME, so the real
``~/.cache/cve-bin-tool`` is never touched. Create its venv with:
``python3 -m venv /tmp/cbt-venv && /tmp/cbt-venv/bin/pip install cve-bin-tool==3.4``.
With --runs N both tools run N times, interleaved, and the medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

WORDS = (
    "buffer overflow in the network stack allows remote attackers to execute arbitrary code "
    "via a crafted packet improper input validation authenticated user could cause denial of "
    "service memory corruption firmware web interface cross site scripting sql injection "
    "hard coded credentials infusion pump patient monitor imaging dicom hl7 gateway server "
    "kernel driver privilege escalation information disclosure use after free"
).split()
VECTORS = [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", 3.9, 5.9),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8, "HIGH", 2.8, 5.9),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM", 2.8, 2.7),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, "MEDIUM", 1.8, 3.6),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", 3.7, "LOW", 2.2, 1.4),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "HIGH", 3.9, 3.6),
]
IMPACT = {"H": "HIGH", "L": "LOW", "N": "NONE"}
CWES = ["CWE-79", "CWE-787", "CWE-89", "CWE-20", "CWE-125", "CWE-78", "CWE-416", "CWE-22",
        "CWE-352", "CWE-434", "CWE-798", "CWE-319", "NVD-CWE-noinfo", "NVD-CWE-Other"]  # fmt: skip
STATUSES = ["Analyzed"] * 6 + ["Modified"] * 3 + ["Awaiting Analysis", "Deferred"]


def _version(rng: random.Random) -> str:
    return ".".join(str(rng.randrange(0, 20)) for _ in range(rng.choice((2, 3, 3, 4))))


def _clock(rng: random.Random) -> str:
    hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return f"{hour:02d}:{minute:02d}:{second:02d}.{rng.randint(0, 999):03d}"


def _cvss31(rng: random.Random, source: str, kind: str) -> dict[str, Any]:
    vector, score, severity, expl, impact = rng.choice(VECTORS)
    m = dict(p.split(":") for p in vector.split("/")[1:])
    return {
        "source": source,
        "type": kind,
        "cvssData": {
            "version": "3.1",
            "vectorString": vector,
            "baseScore": score,
            "baseSeverity": severity,
            "attackVector": {"N": "NETWORK", "L": "LOCAL", "A": "ADJACENT_NETWORK"}[m["AV"]],
            "attackComplexity": "LOW" if m["AC"] == "L" else "HIGH",
            "privilegesRequired": IMPACT[m["PR"]],
            "userInteraction": "NONE" if m["UI"] == "N" else "REQUIRED",
            "scope": "UNCHANGED" if m["S"] == "U" else "CHANGED",
            "confidentialityImpact": IMPACT[m["C"]],
            "integrityImpact": IMPACT[m["I"]],
            "availabilityImpact": IMPACT[m["A"]],
        },
        "exploitabilityScore": expl,
        "impactScore": impact,
    }


class Generator:
    """Deterministic synthetic NVD records (seeded), with a Zipf-like product popularity."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.vendors = [f"vendor{n:05d}" for n in range(20_000)]
        self.products = [
            (rng.choice(self.vendors), f"product_{n:05d}", rng.choice("aaaaaao"))
            for n in range(60_000)
        ]
        self.devices = [
            (f"medvendor{n:03d}", f"device_{n:04d}") for n in range(2_000)
        ]  # firmware + hardware pairs

    def _product(self) -> tuple[str, str, str]:
        # Popular products get most of the ranges (paretovariate ~ Zipf).
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(self.products) - 1)
        if self.rng.random() < 0.7:
            index = self.rng.randrange(len(self.products))
        return self.products[index]

    def _match(self, part: str, vendor: str, product: str, vulnerable: bool) -> dict[str, Any]:
        rng = self.rng
        entry: dict[str, Any] = {"vulnerable": vulnerable}
        if not vulnerable:
            version = "-"
        elif rng.random() < 0.6:
            version = "*"
        else:
            version = _version(rng)
        entry["criteria"] = f"cpe:2.3:{part}:{vendor}:{product}:{version}:*:*:*:*:*:*:*"
        if version == "*":
            roll = rng.random()
            if roll < 0.45:
                entry["versionEndExcluding"] = _version(rng)
            elif roll < 0.65:
                entry["versionEndIncluding"] = _version(rng)
            elif roll < 0.9:
                entry["versionStartIncluding"] = _version(rng)
                entry["versionEndExcluding"] = _version(rng)
            else:
                entry["versionStartExcluding"] = _version(rng)
                entry["versionEndIncluding"] = _version(rng)
        entry["matchCriteriaId"] = "%08X-%04X-%04X-%04X-%012X" % (  # noqa: UP031
            rng.getrandbits(32),
            rng.getrandbits(16),
            rng.getrandbits(16),
            rng.getrandbits(16),
            rng.getrandbits(48),
        )
        return entry

    def _configurations(self) -> list[dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return []  # NVD's backlog: not analysed yet
        if roll < 0.3:
            # Firmware running on hardware: AND of a firmware node and a hardware node.
            vendor, device = rng.choice(self.devices)
            firmware = [
                self._match("o", vendor, f"{device}_firmware", True)
                for _ in range(rng.randint(1, 4))
            ]
            hardware = [self._match("h", vendor, device, False) for _ in range(rng.randint(1, 2))]
            return [
                {
                    "operator": "AND",
                    "nodes": [
                        {"operator": "OR", "negate": False, "cpeMatch": firmware},
                        {"operator": "OR", "negate": False, "cpeMatch": hardware},
                    ],
                }
            ]
        count = min(int(rng.expovariate(1 / 4.5)) + 1, 400)
        vendor, product, part = self._product()
        matches = []
        for _ in range(count):
            if rng.random() < 0.2:
                vendor, product, part = self._product()
            matches.append(self._match(part, vendor, product, True))
        return [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": matches}]}]

    def record(self, cve_id: str, year: int) -> dict[str, Any]:
        rng = self.rng
        words = rng.choices(WORDS, k=rng.randint(25, 70))
        description = " ".join(words).capitalize() + "."
        published = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T" + _clock(rng)
        modified_year = min(2026, year + rng.randint(0, 4))
        last_modified = (
            f"{modified_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T" + _clock(rng)
        )
        status = "Rejected" if rng.random() < 0.01 else rng.choice(STATUSES)
        metrics: dict[str, Any] = {}
        if status != "Rejected" and rng.random() < 0.9:
            metrics["cvssMetricV31"] = [_cvss31(rng, "nvd@nist.gov", "Primary")]
            if rng.random() < 0.4:
                metrics["cvssMetricV31"].append(_cvss31(rng, "cna@example.org", "Secondary"))
        if year < 2016 and rng.random() < 0.8:
            metrics["cvssMetricV2"] = [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "cvssData": {
                        "version": "2.0",
                        "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                        "baseScore": 7.5,
                    },
                    "baseSeverity": "HIGH",
                    "exploitabilityScore": 10.0,
                    "impactScore": 6.4,
                }
            ]
        cve: dict[str, Any] = {
            "id": cve_id,
            "sourceIdentifier": "cna@example.org",
            "published": published,
            "lastModified": max(published, last_modified),
            "vulnStatus": status,
            "cveTags": [],
            "descriptions": [
                {"lang": "en", "value": description},
                {"lang": "es", "value": "Desbordamiento de búfer. " + description[:120]},
            ],
            "metrics": metrics,
            "weaknesses": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "description": [{"lang": "en", "value": rng.choice(CWES)}],
                }
            ],
            "configurations": [] if status == "Rejected" else self._configurations(),
            "references": [
                {
                    "url": f"https://{rng.choice(self.vendors)}.example.com/advisory/{cve_id}",
                    "source": "cna@example.org",
                    "tags": rng.sample(["Vendor Advisory", "Patch", "Third Party Advisory"], 1),
                }
                for _ in range(rng.randint(1, 6))
            ],
        }
        if not cve["configurations"]:
            del cve["configurations"]
        return {"cve": cve}


def generate(folder: Path, records: int, seed: int = 7) -> tuple[list[Path], int, int]:
    """Yearly NVD 2.0 feed files; (paths, records, cpeMatch entries)."""
    gen = Generator(seed)
    years = list(range(2002, 2027))
    # NVD grew from a few thousand to ~45,000 records a year.
    weights = [1 + (y - 2002) ** 1.6 for y in years]
    total = sum(weights)
    counts = [int(records * w / total) for w in weights]
    counts[-1] += records - sum(counts)
    paths: list[Path] = []
    ranges = 0
    for year, count in zip(years, counts, strict=True):
        items = []
        for n in range(count):
            item = gen.record(f"CVE-{year}-{1000 + n:05d}", year)
            for config in item["cve"].get("configurations", []):
                for node in config["nodes"]:
                    ranges += len(node["cpeMatch"])
            items.append(item)
        doc = {
            "resultsPerPage": count,
            "startIndex": 0,
            "totalResults": count,
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-11-20T03:00:00.000",
            "vulnerabilities": items,
        }
        path = folder / f"nvdcve-2.0-{year}.json"
        # NVD's feeds are indented; indent=1 keeps the shape at a moderate size.
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths, records, ranges


# --- cve-bin-tool's --import-json layout --------------------------------------------------------


def to_cbt_export(paths: list[Path], out: Path) -> int:
    """The records in cve-bin-tool 3.4's export layout; the number of rows written.

    Mirrors cve_bin_tool.data_sources.nvd_source.NVD_Source.format_data_api2: one
    cve_severity row per record (v3.1 metric first, else v2) and one cve_range row per cpeMatch
    entry; rejected records are left out, as medshield leaves them out.
    """
    severity_dir = out / "cve_severity"
    range_dir = out / "cve_range"
    severity_dir.mkdir(parents=True)
    range_dir.mkdir(parents=True)
    rows = 0
    years: list[str] = []
    for path in paths:
        year = path.stem.rsplit("-", 1)[-1]
        doc = json.loads(path.read_text(encoding="utf-8"))
        severities = []
        ranges = []
        for item in doc["vulnerabilities"]:
            cve = item["cve"]
            if cve["vulnStatus"] == "Rejected":
                continue
            description = next(d["value"] for d in cve["descriptions"] if d["lang"] == "en")
            metric = cve["metrics"].get("cvssMetricV31") or cve["metrics"].get("cvssMetricV2")
            data = metric[0]["cvssData"] if metric else {}
            severities.append(
                {
                    "cve_number": cve["id"],
                    "severity": data.get("baseSeverity", metric[0].get("baseSeverity"))
                    if metric
                    else "unknown",
                    "description": description,
                    "score": data.get("baseScore", "unknown"),
                    "cvss_version": int(float(data["version"])) if data else "unknown",
                    "cvss_vector": data.get("vectorString", "unknown"),
                    "data_source": "NVD",
                    "last_modified": cve["lastModified"],
                }
            )
            for config in cve.get("configurations", []):
                for node in config["nodes"]:
                    for match in node["cpeMatch"]:
                        parts = match["criteria"].split(":")
                        ranges.append(
                            {
                                "cve_number": cve["id"],
                                "vendor": parts[3],
                                "product": parts[4],
                                "version": parts[5],
                                "versionStartIncluding": match.get("versionStartIncluding", ""),
                                "versionStartExcluding": match.get("versionStartExcluding", ""),
                                "versionEndIncluding": match.get("versionEndIncluding", ""),
                                "versionEndExcluding": match.get("versionEndExcluding", ""),
                                "data_source": "NVD",
                            }
                        )
        (severity_dir / f"{year}.json").write_text(json.dumps(severities))
        (range_dir / f"{year}.json").write_text(json.dumps(ranges))
        years.append(year)
        rows += len(severities) + len(ranges)
    metadata = {"timestamp": time.time(), "db": {"cve_severity": years, "cve_range": years}}
    (out / "metadata.json").write_text(json.dumps(metadata))
    return rows


def cbt_prepare(cbt_bin: Path, home: Path, export: Path) -> str | None:
    """Set up a temporary HOME for cve-bin-tool; None when ready, else why it cannot run."""
    if not cbt_bin.exists():
        return f"{cbt_bin} is missing (see the module docstring to create its venv)"
    # --import-json runs only when a cve.db already exists: an empty one with its schema.
    code = (
        "import sys; from cve_bin_tool.cvedb import CVEDB; db = CVEDB(); "
        "db.init_database(); print(db.dbpath)"
    )
    python = cbt_bin.parent / "python"
    (home / ".cache" / "cve-bin-tool").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(python), "-c", code],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return "cannot create its database: " + result.stderr.strip()[-400:]
    return None


class Measured(NamedTuple):
    """One timed run of a command."""

    seconds: float
    #: the largest sum of the resident memory of the process and its children, sampled
    peak_mb: float
    #: user + system CPU time of the process and its children (what a shared machine inflates
    #: least: other helpers' load stretches the wall time, not the work done)
    cpu_seconds: float
    result: subprocess.CompletedProcess[str]


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and its descendants, from /proc (children counted whole)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0] or 0)
    total = 0
    for pid, kb in rss.items():
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += kb
    return total


def run_measured(command: list[str], env: dict[str, str], cwd: Path | None = None) -> Measured:
    """Run ``command`` (in ``cwd``); its wall time, sampled peak memory (with children) and CPU
    time.

    The disk is flushed first (``sync``) and left a moment: otherwise a run pays for writing
    back what the run before it wrote (a gigabyte for a full NVD), whichever tool wrote it.
    """
    os.sync()
    time.sleep(1)
    start = time.perf_counter()
    before = os.times()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return Measured(elapsed, peak / 1024, cpu, result)


def cbt_import(cbt_bin: Path, home: Path, export: Path) -> tuple[Measured, int, str]:
    """(the run, rows in cve_range + cve_severity, error text) of one import."""
    run = run_measured(
        [str(cbt_bin), "--import-json", str(export), "--ignore-sig", "--offline"],
        {**os.environ, "HOME": str(home)},
    )
    db = home / ".cache" / "cve-bin-tool" / "cve.db"
    rows = 0
    if db.exists():
        with sqlite3.connect(db) as conn:
            for table in ("cve_severity", "cve_range"):
                try:
                    rows += conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                except sqlite3.Error as exc:
                    # The row count is part of what we compare: say it is incomplete.
                    print(f"cve-bin-tool's cve.db: cannot count {table}: {exc}", file=sys.stderr)
    result = run.result
    error = "" if result.returncode == 0 else (result.stdout + result.stderr)[-800:]
    return run, rows, error


# --- medshield -----------------------------------------------------------------------------------


def medshield_import(
    paths: list[Path], work: Path, *, auto_match: bool = True
) -> tuple[Measured, str]:
    """(the run, what it stored) of ``medshield feeds import`` into a fresh SQLite database.

    Without ``auto_match`` the command runs with ``FINDINGS_AUTO_MATCH = False``, so the
    findings re-match that follows each file's commit is left out of the figure.
    """
    db = work / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ)
    env["MEDSHIELD_DATA_DIR"] = str(work)
    env["DATABASE_URL"] = f"sqlite:///{db}"
    env["MEDSHIELD_MAX_UPLOAD_MB"] = "4000"
    env["DJANGO_SETTINGS_MODULE"] = "medshield.settings"
    subprocess.run(
        [str(BIN / "medshield"), "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    command = [str(BIN / "medshield"), "feeds", "import", *map(str, paths)]
    if not auto_match:
        command = [
            str(BIN / "python"),
            "-c",
            "import sys, django; from django.conf import settings; django.setup(); "
            "settings.FINDINGS_AUTO_MATCH = False; "
            "from django.core.management import call_command; "
            "call_command('feeds_import', *sys.argv[1:])",
            *map(str, paths),
        ]
    run = run_measured(command, env)
    if run.result.returncode != 0:
        raise SystemExit(
            f"medshield feeds import failed:\n{run.result.stdout}\n{run.result.stderr[-3000:]}"
        )
    with sqlite3.connect(db) as conn:
        vulns = conn.execute("SELECT count(*) FROM vulns_vulnerability").fetchone()[0]
        configs = conn.execute("SELECT count(*) FROM vulns_nvdconfigurations").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM vulns_cpekey").fetchone()[0]
    return run, f"{vulns:,} vulnerabilities, {configs:,} NVD configurations, {keys:,} CPE keys"


def make_bundle(paths: list[Path], bundle: Path, work: Path) -> None:
    """``medshield feeds bundle`` of the NVD files, as on the connected machine (not timed)."""
    env = dict(os.environ)
    env["MEDSHIELD_DATA_DIR"] = str(work)
    env["DATABASE_URL"] = f"sqlite:///{work / 'bundling.sqlite3'}"
    env["MEDSHIELD_MAX_UPLOAD_MB"] = "4000"
    bundle.unlink(missing_ok=True)
    subprocess.run(
        [str(BIN / "medshield"), "feeds", "bundle", str(bundle), *map(str, paths)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=1, help="interleaved runs; medians reported")
    parser.add_argument("--no-peer", action="store_true", help="skip cve-bin-tool")
    parser.add_argument(
        "--skip-raw", action="store_true", help="skip the import of the NVD JSON files"
    )
    parser.add_argument("--skip-bundle", action="store_true", help="skip the bundle and its import")
    parser.add_argument("--cbt-venv", default="/tmp/cbt-venv", help="cve-bin-tool 3.4's venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--work",
        metavar="DIR",
        help="work in DIR (kept) and reuse the data set generated there by an earlier run",
    )
    parser.add_argument(
        "--no-auto-match",
        action="store_true",
        help="import with FINDINGS_AUTO_MATCH = False: without the findings re-match that "
        "follows each file's commit (the NVD import alone, as cve-bin-tool's is)",
    )
    args = parser.parse_args()

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="medshield-nvd-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        feeds = work / "nvd"
        marker = feeds / "generated.json"
        known = json.loads(marker.read_text()) if marker.exists() else {}
        if known.get("records") == args.records:
            paths = sorted(feeds.glob("nvdcve-2.0-*.json"))
            records, ranges = known["records"], known["ranges"]
            print(f"reusing {records:,} NVD records, {ranges:,} cpeMatch entries in {feeds}")
        else:
            shutil.rmtree(feeds, ignore_errors=True)
            shutil.rmtree(work / "cbt-export", ignore_errors=True)
            feeds.mkdir()
            t0 = time.perf_counter()
            paths, records, ranges = generate(feeds, args.records)
            marker.write_text(json.dumps({"records": records, "ranges": ranges}))
            size = sum(p.stat().st_size for p in paths)
            print(
                f"generated {records:,} NVD records, {ranges:,} cpeMatch entries in {len(paths)} "
                f"yearly files ({size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s"
            )

        cbt_bin = Path(args.cbt_venv) / "bin" / "cve-bin-tool"
        peer_error: str | None = "skipped (--no-peer)" if args.no_peer else None
        export = work / "cbt-export"
        if peer_error is None and not (export / "metadata.json").exists():
            t0 = time.perf_counter()
            rows = to_cbt_export(paths, export)
            print(
                f"flattened the same records into cve-bin-tool's export layout: {rows:,} rows "
                f"(not timed: {time.perf_counter() - t0:.1f} s)"
            )
        label = " (FINDINGS_AUTO_MATCH off)" if args.no_auto_match else ""
        bundle = work / "nvd-bundle.tar.zst"
        if not args.skip_bundle:
            t0 = time.perf_counter()
            make_bundle(paths, bundle, work)
            size = bundle.stat().st_size / 1e6
            print(
                f"bundled the NVD files with `medshield feeds bundle` (prepared on the connected "
                f"machine; not timed, as cve-bin-tool's export is not): {size:,.0f} MB in "
                f"{time.perf_counter() - t0:.1f} s"
            )
        raw: list[Measured] = []
        bundled: list[Measured] = []
        theirs: list[Measured] = []
        auto = not args.no_auto_match
        for run in range(args.runs):
            if not args.skip_raw:
                measured, counts = medshield_import(paths, work, auto_match=auto)
                raw.append(measured)
                print(
                    f"[run {run + 1}] medshield feeds import of the NVD JSON files{label}: "
                    f"{measured.seconds:.1f} s ({records / measured.seconds:,.0f} records/s), CPU "
                    f"{measured.cpu_seconds:.1f} s, peak RSS {measured.peak_mb:,.0f} MB (with its "
                    f"parser process); {counts}"
                )
            if not args.skip_bundle:
                measured, counts = medshield_import([bundle], work, auto_match=auto)
                bundled.append(measured)
                print(
                    f"[run {run + 1}] medshield feeds import of the bundle{label}: "
                    f"{measured.seconds:.1f} s ({records / measured.seconds:,.0f} records/s), CPU "
                    f"{measured.cpu_seconds:.1f} s, peak RSS {measured.peak_mb:,.0f} MB (with its "
                    f"check processes); {counts}"
                )
            if peer_error is None:
                home = work / f"cbt-home-{run}"
                home.mkdir()
                peer_error = cbt_prepare(cbt_bin, home, export)
                if peer_error is None:
                    peer, rows, error = cbt_import(cbt_bin, home, export)
                    if error or not rows:
                        peer_error = f"import failed: {error or 'no rows imported'}"
                    else:
                        theirs.append(peer)
                        print(
                            f"[run {run + 1}] cve-bin-tool --import-json: {peer.seconds:.1f} s, "
                            f"CPU {peer.cpu_seconds:.1f} s, peak RSS {peer.peak_mb:,.0f} MB; "
                            f"{rows:,} rows"
                        )
                shutil.rmtree(home, ignore_errors=True)
        print()
        their_time = statistics.median(m.seconds for m in theirs) if theirs else None
        if theirs:
            their_cpu = statistics.median(m.cpu_seconds for m in theirs)
            print(
                f"cve-bin-tool --import-json (its own export of the records): {their_time:.1f} s, "
                f"CPU {their_cpu:.1f} s, peak {max(m.peak_mb for m in theirs):,.0f} MB"
            )
        else:
            print(f"cve-bin-tool: not measured: {peer_error}")
        for name, ours in (
            ("medshield, the bundle (records prepared by `feeds bundle`)", bundled),
            ("medshield, the NVD JSON files themselves", raw),
        ):
            if not ours:
                continue
            our_time = statistics.median(m.seconds for m in ours)
            our_cpu = statistics.median(m.cpu_seconds for m in ours)
            line = (
                f"{name}: {our_time:.1f} s for {records:,} records / {ranges:,} ranges "
                f"({records / our_time:,.0f} records/s), CPU {our_cpu:.1f} s, peak "
                f"{max(m.peak_mb for m in ours):,.0f} MB"
            )
            if their_time:
                line += f"; {their_time / our_time:.2f}x cve-bin-tool's speed"
            print(line)
        print(f"({os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f})")
    finally:
        if args.keep or args.work:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
