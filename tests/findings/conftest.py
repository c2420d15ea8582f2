"""A small real world for the findings tests: corpus feeds imported, a few devices registered.

* CVE-2021-26855 (NVD, Exchange Server) listed in the real KEV catalog, with a synthetic EPSS;
* JVNDB-2022-000097 (JVN, Japanese title) affecting "電子入札コアシステム v6 R4 and earlier";
* ICSMA-20-343-01 (CSAF, GE Healthcare imaging devices).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from medshield.assets.choices import AssetKind, Criticality
from medshield.assets.models import Asset
from medshield.vulns.importers import import_path
from tests.conftest import CORPUS

EXCHANGE_CPE = "cpe:2.3:a:microsoft:exchange_server:2016:cumulative_update_18:*:*:*:*:*:*"


def import_world(tmp_path: Path) -> None:
    import_path(str(CORPUS / "nvd" / "api-2.0-responses" / "CVE-2021-26855.json"))
    import_path(str(CORPUS / "kev" / "known_exploited_vulnerabilities.json"))
    epss = tmp_path / "epss.csv"
    epss.write_text(
        "#model_version:v2025.03.14,score_date:2026-11-20T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2021-26855,0.97000,0.99900\n"
    )
    import_path(str(epss))
    import_path(
        str(CORPUS / "jvn" / "myjvn-hnd-3.2" / "getVulnDetailInfo_hnd_JVNDB-2022-000097.xml")
    )
    import_path(str(CORPUS / "csaf" / "cisa-icsma" / "icsma-20-343-01.json"))


def make_assets() -> dict[str, Asset]:
    rows = {
        "SV-0001": ("Mail server", AssetKind.SERVER, "Microsoft", "Exchange Server", "2016", ""),
        "SY-0001": ("入札端末", AssetKind.MEDICAL_SYSTEM, "一般財団法人日本建設情報総合センター",
                    "電子入札コアシステム", "v6 R3", Criticality.SUPPORT),
        "ME-0001": ("CT 1", AssetKind.MEDICAL_DEVICE, "GE Healthcare", "Revolution CT", "1.0",
                    Criticality.DIAGNOSTIC),
        "ME-0002": ("Pump", AssetKind.MEDICAL_DEVICE, "Acme", "Pump 7", "1.0",
                    Criticality.LIFE_SUSTAINING),
    }  # fmt: skip
    return {
        tag: Asset.objects.create(
            asset_tag=tag,
            name=name,
            kind=kind,
            manufacturer=maker,
            model=model,
            software_version=version,
            criticality=crit,
        )  # fmt: skip
        for tag, (name, kind, maker, model, version, crit) in rows.items()
    }


@pytest.fixture
def world(db: None, tmp_path: Path) -> dict[str, Asset]:
    import_world(tmp_path)
    return make_assets()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def store_finding(asset: Asset, vulnerability: Any, **values: Any) -> Any:
    """One finding stored as the matching service stores it (a verdict shown through a group).

    For tests that need a finding without feeds to match: the asset's own device group, holding
    one identity with this verdict. Returns the finding as the findings view shows it.
    """
    from django.utils import timezone

    from medshield.findings.models import Finding, Membership, Occurrence, Verdict
    from medshield.findings.service import identity_digest

    identity = identity_digest(f"test\0{asset.pk}")
    values = {"certainty": "confirmed", "match_status": "affected", "reason": "listed", **values}
    verdict = Verdict.objects.create(identity=identity, vulnerability=vulnerability, **values)
    Occurrence.objects.get_or_create(group_key=identity, identity=identity)
    membership, _ = Membership.objects.get_or_create(
        group_key=identity, asset=asset, defaults={"since": timezone.now()}
    )
    return Finding.objects.get(verdict=verdict, membership=membership)
