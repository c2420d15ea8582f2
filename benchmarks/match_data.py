"""The data of the matching benchmark: SBOMs, the register plan and the daily update.

The vulnerabilities are benchmarks/nvd.py's synthetic NVD feeds (imported from there, not
copied). The SBOM components are drawn from the same generator's product list, so their CPEs
name products that NVD ranges name, the popular ones more often, as in a real fleet where a few
libraries (an operating system, OpenSSL, a web server) appear in most devices.

Component versions always have four numeric segments with a non-zero last one. NVD bounds have
two to four, and "1.2" against "1.2.0" is exactly where tools differ (medshield calls them the
same release, cve-bin-tool orders "1.2" first); such ties would measure a disagreement about
version semantics, not speed, and both tools answer alike for every version generated here.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nvd import Generator  # noqa: E402  (benchmarks/nvd.py, the nvd helper's generator)


@dataclass(frozen=True)
class PoolComponent:
    """One distinct component identity a device may ship."""

    vendor: str
    product: str
    part: str
    version: str

    @property
    def cpe(self) -> str:
        return f"cpe:2.3:{self.part}:{self.vendor}:{self.product}:{self.version}:*:*:*:*:*:*:*"


def _component_version(rng: random.Random) -> str:
    head = [str(rng.randrange(0, 20)) for _ in range(3)]
    return ".".join([*head, str(rng.randrange(1, 20))])


#: the generator's most-referenced products are skipped: at 400,000 records its top ten are
#: named by 74,000 down to 900 records, more than any real product (the Linux kernel has about
#: 15,000), and would make every SBOM that ships one a test of that product alone
SKIP_TOP = 10


def component_pool(
    seed: int, *, popular: int = 50, known: int = 450, unknown: int = 1_500, versions: int = 3
) -> list[list[PoolComponent]]:
    """Products (each with a few versions in use) that SBOMs draw from.

    ``popular`` are the generator's most-referenced products after the top ten (at 400,000
    records, named by about 900 down to 30 records: the OpenSSL and BusyBox of the fleet),
    ``known`` others that NVD names (a handful of records each), ``unknown`` in-house names no
    record mentions (most components of a real SBOM). An SBOM of 300 from this pool of 2,000
    ships about 8 popular, 70 known and 220 unknown components.
    """
    gen = Generator(seed)  # the same seed as the feeds: the same product list
    rng = random.Random(seed + 1)
    top = SKIP_TOP + popular
    chosen = list(range(SKIP_TOP, top)) + rng.sample(range(top, len(gen.products)), known)
    products = [gen.products[i] for i in chosen]
    products += [(f"inhouse{n:03d}", f"internal_lib_{n:04d}", "a") for n in range(unknown)]
    pool = []
    for vendor, product, part in products:
        pool.append(
            [
                PoolComponent(vendor, product, part, v)
                for v in sorted({_component_version(rng) for _ in range(versions)})
            ]
        )
    return pool


def sbom_documents(
    pool: list[list[PoolComponent]], count: int, size: int, seed: int
) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    """``count`` CycloneDX 1.5 SBOMs of ``size`` components, each for one device product.

    Returns (manufacturer, model, firmware version) with the document: an SBOM is attached to
    that product, so it applies to every asset of that model and version.
    """
    rng = random.Random(seed + 2)
    docs = []
    for n in range(count):
        manufacturer = f"MedMaker {n % 40:02d}"
        model = f"Model-{n:04d}"
        firmware = f"{1 + n % 5}.{n % 7}.{n % 3}"
        components = []
        for i, versions in enumerate(rng.sample(pool, size)):
            c = rng.choice(versions)
            components.append(
                {
                    "type": "library" if c.part == "a" else "operating-system",
                    "bom-ref": f"c{i:03d}-{c.product}",
                    "name": c.product,
                    "version": c.version,
                    "supplier": {"name": c.vendor},
                    "cpe": c.cpe,
                }
            )
        serial = uuid.UUID(int=rng.getrandbits(128), version=4)
        doc = {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "serialNumber": f"urn:uuid:{serial}",
            "version": 1,
            "metadata": {
                "timestamp": "2026-11-01T00:00:00Z",
                "supplier": {"name": manufacturer},
                "component": {
                    "type": "device",
                    "bom-ref": "device",
                    "name": model,
                    "version": firmware,
                },
            },
            "components": components,
        }
        docs.append(((manufacturer, model, firmware), doc))
    return docs


def register_plan(
    products: list[tuple[str, str, str]], assets: int, seed: int
) -> list[dict[str, str]]:
    """``assets`` register rows spread evenly over the SBOMs' device products."""
    rng = random.Random(seed + 3)
    departments = ["放射線科", "ICU", "手術部", "検査部", "循環器内科", "透析室"]
    rows = []
    for n in range(assets):
        manufacturer, model, firmware = products[n % len(products)]
        rows.append(
            {
                "asset_tag": f"ME-{n:06d}",
                "name": f"{model} #{n // len(products) + 1}",
                "manufacturer": manufacturer,
                "model": model,
                "software_version": firmware,
                "department": rng.choice(departments),
            }
        )
    return rows


def daily_update(cve_ids: list[str], seed: int, folder: Path) -> Path:
    """An NVD 2.0 feed file with new versions of ``cve_ids`` (new ranges, later lastModified).

    The generator keeps the feeds' product list (which vendor makes which product) and only
    draws the new records from another random stream.
    """
    gen = Generator(seed)
    gen.rng = random.Random(seed + 4)
    items = []
    for cve_id in cve_ids:
        year = int(cve_id.split("-")[1])
        item = gen.record(cve_id, year)
        cve = item["cve"]
        if cve["vulnStatus"] == "Rejected":
            cve["vulnStatus"] = "Modified"
            cve["configurations"] = gen._configurations()  # noqa: SLF001
            if not cve["configurations"]:
                del cve["configurations"]
        cve["lastModified"] = "2026-11-26T03:00:00.000"
        items.append(item)
    doc = {
        "resultsPerPage": len(items),
        "startIndex": 0,
        "totalResults": len(items),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-11-26T03:00:00.000",
        "vulnerabilities": items,
    }
    path = folder / "nvdcve-2.0-modified.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
