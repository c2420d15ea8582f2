"""Helpers for the feed tests: corpus paths, synthetic EPSS files, database snapshots."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from medshield.vulns.models import (
    Advisory,
    AdvisoryProduct,
    AdvisoryVulnerability,
    CpeMatch,
    FeedImport,
    ProductStatus,
    Vulnerability,
)

DATA_MODELS = (
    Vulnerability,
    Advisory,
    AdvisoryVulnerability,
    AdvisoryProduct,
    ProductStatus,
    CpeMatch,
)

EPSS_HEAD = "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000\ncve,epss,percentile\n"


def snapshot(include_imports: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every row of the feed tables, for "nothing changed" comparisons."""
    models = DATA_MODELS + ((FeedImport,) if include_imports else ())
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in models}


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
