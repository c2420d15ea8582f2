"""Fixtures of the SBOM and VEX tests: the corpus folders, assets to attach to, a DB snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medshield.assets.choices import AssetKind
from medshield.assets.models import Asset
from medshield.core.models import ObjectChange
from medshield.sboms.models import Component, Sbom, VexDocument, VexStatement
from tests.conftest import CORPUS

CYCLONEDX = CORPUS / "cyclonedx"
SPDX = CORPUS / "spdx"
OPENVEX = CORPUS / "openvex"
MEDICAL = CYCLONEDX / "medical-device-sbom"


def corpus_files(folder: Path, *suffixes: str) -> list[Path]:
    """Every sample under ``folder`` with one of ``suffixes``, schemas left out."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith(suffixes) and "schema" not in p.parts
    )


def ident(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def state() -> dict[str, Any]:
    """Everything the SBOM importers write, to compare before and after a refused import."""
    return {
        "sboms": list(Sbom.objects.values().order_by("pk")),
        "links": list(Sbom.assets.through.objects.values_list("sbom_id", "asset_id")),
        "components": Component.objects.count(),
        "vex": list(VexDocument.objects.values().order_by("pk")),
        "statements": list(VexStatement.objects.values().order_by("pk")),
        "changes": ObjectChange.objects.count(),
    }


@pytest.fixture
def infusion_pumps(db: None) -> list[Asset]:
    """Two pumps of one model and firmware, and a third of the same model on other firmware."""
    make = {"kind": AssetKind.MEDICAL_DEVICE, "manufacturer": "Acme Medical", "model": "IP-7"}
    return [
        Asset.objects.create(asset_tag="ME-0001", name="Pump 1", software_version="2.1", **make),
        Asset.objects.create(asset_tag="ME-0002", name="Pump 2", software_version="2.1", **make),
        Asset.objects.create(asset_tag="ME-0003", name="Pump 3", software_version="3.0", **make),
    ]


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages in English (the source language), as the assertions are written in it."""
    from django.utils import translation

    with translation.override("en"):
        yield
