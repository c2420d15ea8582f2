"""Helpers for the feed tests: corpus paths, synthetic EPSS files, database snapshots."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from medshield.vulns.models import (
    Advisory,
    AdvisoryProduct,
    AdvisoryVulnerability,
    CpeKey,
    FeedImport,
    NvdConfigurations,
    ProductStatus,
    Vulnerability,
)

DATA_MODELS = (
    Vulnerability,
    Advisory,
    AdvisoryVulnerability,
    AdvisoryProduct,
    ProductStatus,
    NvdConfigurations,
    CpeKey,
)

EPSS_HEAD = "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000\ncve,epss,percentile\n"


def snapshot(include_imports: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every row of the feed tables, for "nothing changed" comparisons."""
    models = DATA_MODELS + ((FeedImport,) if include_imports else ())
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in models}


def nvd_entries(vuln: Vulnerability) -> list[dict[str, Any]]:
    """The stored NVD configurations of ``vuln`` as one dict per ``cpeMatch`` entry, with its
    configuration's and node's flags and its CPE name split (for readable assertions)."""
    stored = NvdConfigurations.objects.filter(vulnerability=vuln).first()
    entries = []
    for c, config in enumerate(json.loads(stored.data) if stored else []):
        for n, node in enumerate(config["nodes"]):
            for match in node["cpeMatch"]:
                criteria = match["criteria"]
                part, vendor, product, version = criteria.split(":")[2:6]
                start_incl = match.get("versionStartIncluding")
                end_incl = match.get("versionEndIncluding")
                entries.append(
                    {
                        "config": c,
                        "config_and": config.get("operator") == "AND",
                        "config_negate": config.get("negate", False),
                        "node": n,
                        "node_and": node.get("operator") == "AND",
                        "node_negate": node.get("negate", False),
                        "criteria": criteria,
                        "vulnerable": match.get("vulnerable", True),
                        "part": part,
                        "vendor": vendor,
                        "product": product,
                        "version": version,
                        "start": start_incl or match.get("versionStartExcluding", ""),
                        "start_incl": start_incl is not None,
                        "end": end_incl or match.get("versionEndExcluding", ""),
                        "end_incl": end_incl is not None,
                    }
                )
    return entries


def write_epss(
    path: Path, date: str, rows: list[tuple[str, float, float]], gz: bool = False
) -> Path:
    body = EPSS_HEAD.format(date=date) + "".join(f"{c},{s:.5f},{p:.5f}\n" for c, s, p in rows)
    if gz:
        path.write_bytes(gzip.compress(body.encode()))
    else:
        path.write_text(body)
    return path


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English; a page test may leave Japanese active otherwise."""
    with translation.override("en"):
        yield


@pytest.fixture
def epss_file(tmp_path: Path) -> Path:
    return write_epss(
        tmp_path / "epss_scores-2026-11-20.csv.gz",
        "2026-11-20",
        [("CVE-2022-2119", 0.0019, 0.563), ("CVE-2020-12040", 0.0123, 0.851)],
        gz=True,
    )
