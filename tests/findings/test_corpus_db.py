"""Issue 5 end to end through the database: real corpus files in, ``medshield match``, findings out.

Mirrors tests/matching/test_csaf_corpus.py and test_nvd_corpus.py, but every advisory goes
through the feed importers, every device into the register (and, for firmware on hardware, an
SBOM through the SBOM importer), and the findings are read back from the findings table. The
expected versions come from the advisories themselves, as in the engine's tests.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

import pytest
from django.core.management import call_command

from medshield.assets.choices import AssetKind
from medshield.assets.models import Asset
from medshield.findings.models import Finding
from medshield.matching import csaf_products, csaf_vulnerabilities, parse_cpe23, parse_range
from medshield.sboms.importers import import_sbom
from medshield.vulns.importers import import_path
from medshield.vulns.models import Vulnerability
from tests.matching.corpus import CSAF_ICSMA, NVD_RECORDS
from tests.matching.test_csaf_corpus import (
    AFFECTED,
    affected_samples,
    fixed_samples,
    free_text,
    name_key,
    range_text,
)
from tests.matching.test_nvd_corpus import CASES as NVD_CASES
from tests.matching.test_nvd_corpus import cpe_with_version, fixed_version, vulnerable_versions

pytestmark = pytest.mark.django_db


def db_id(ids: frozenset[str], known: set[str]) -> str:
    """The id the database stores an engine vulnerability under (its CVE, else an alias)."""
    found = sorted(ids & known)
    assert found, ids
    return found[0]


def findings_by_tag() -> dict[str, dict[str, Finding]]:
    out: dict[str, dict[str, Finding]] = defaultdict(dict)
    for f in Finding.objects.select_related("asset", "vulnerability"):
        out[f.asset.asset_tag][f.vulnerability.vuln_id] = f
    return out


def test_csaf_advisories_through_the_database(capsys: pytest.CaptureFixture[str]) -> None:
    for path in CSAF_ICSMA:
        import_path(str(path))
    known = set(Vulnerability.objects.values_list("vuln_id", flat=True))
    # Per product name: every (db vulnerability id, range) an affected entry lists.
    same_name: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    cases = []
    for path in CSAF_ICSMA:
        doc = json.loads(path.read_text())
        products = csaf_products(doc)
        for vuln in csaf_vulnerabilities(doc):
            vid = db_id(vuln.all_ids, known)
            for rule in vuln.rules:
                if rule.category in AFFECTED:  # type: ignore[union-attr]
                    p = products[rule.product_id]  # type: ignore[union-attr]
                    same_name[name_key(p.vendor, p.product)].append((vid, range_text(p)))
                    cases.append((doc["document"]["tracking"]["id"], p, vid))
    assert len(cases) >= 150
    expected: dict[str, set[str]] = defaultdict(set)  # tag -> vulnerability ids
    allowed: dict[str, set[str]] = {}
    strict: dict[str, bool] = {}
    advisory_of: dict[tuple[str, str], str] = {}
    fixed: dict[str, list[tuple[str, str]]] = {}
    assets = []
    seen: dict[tuple[str, str, str], str] = {}
    for advisory, product, vid in cases:
        text = range_text(product)
        names = same_name[name_key(product.vendor, product.product)]
        for version in affected_samples(text):
            ident = (product.vendor, product.product, version)
            tag = seen.get(ident)
            if tag is None:
                tag = seen[ident] = f"AF-{len(seen):05d}"
                assets.append(Asset(asset_tag=tag, name=product.product[:200],
                                    kind=AssetKind.MEDICAL_DEVICE, manufacturer=product.vendor,
                                    model=product.product, software_version=version))  # fmt: skip
                allowed[tag] = {v for v, _ in names}
                strict[tag] = True
            expected[tag].add(vid)
            advisory_of[(tag, vid)] = advisory
            strict[tag] = strict[tag] and not free_text(text)
        for version in fixed_samples(text):
            verdicts = [parse_range(t).contains(version)[0] for _, t in names]
            if any(v is True for v in verdicts):
                continue  # another entry of the same product lists this version as affected
            ident = (product.vendor, product.product, version)
            if ident in seen:
                continue
            tag = seen[ident] = f"FX-{len(seen):05d}"
            assets.append(Asset(asset_tag=tag, name=product.product[:200],
                                kind=AssetKind.MEDICAL_DEVICE, manufacturer=product.vendor,
                                model=product.product, software_version=version))  # fmt: skip
            fixed[tag] = [("all" if all(v is False for v in verdicts) else "some", text)]
    assert len(expected) >= 100 and len(fixed) >= 50
    Asset.objects.bulk_create(assets)

    call_command("match", "--quiet")
    assert "findings created" in capsys.readouterr().out

    found = findings_by_tag()
    for tag, vids in expected.items():
        got = found.get(tag, {})
        assert vids <= set(got), (tag, vids - set(got))
        assert set(got) <= allowed[tag], (tag, set(got) - allowed[tag])
        for vid in vids:
            finding = got[vid]
            assert finding.match_status == "affected", (tag, vid)
            assert finding.status == "open"
            assert advisory_of[(tag, vid)] in finding.advisories, (tag, finding.advisories)
            assert "CSAF" in finding.sources
            assert finding.reason
            if strict[tag]:
                assert finding.certainty == "confirmed", (tag, vid, finding.reason)
    for tag, ((kind, text),) in fixed.items():
        got = found.get(tag, {})
        assert not [f for f in got.values() if f.certainty == "confirmed"], (tag, text)
        if kind == "all":
            assert got == {}, (tag, text, [f.reason for f in got.values()])

    # A second run changes nothing: the findings are stable.
    before = list(Finding.objects.order_by("pk").values_list("pk", "reason", "priority"))
    call_command("match", "--quiet")
    assert "0 findings created, 0 updated, 0 closed" in capsys.readouterr().out
    assert list(Finding.objects.order_by("pk").values_list("pk", "reason", "priority")) == before


def _cyclonedx(components: list[tuple[str, str, str]]) -> bytes:
    """A CycloneDX 1.5 SBOM listing (type, name, CPE) components."""
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "serialNumber": f"urn:uuid:{uuid.uuid4()}",
            "version": 1,
            "components": [
                {
                    "type": kind,
                    "name": name,
                    "bom-ref": f"c{i}",
                    "cpe": cpe,
                    "version": parse_cpe23(cpe).version,
                }  # fmt: skip
                for i, (kind, name, cpe) in enumerate(components)
            ],
        }
    ).encode()


def test_firmware_on_hardware_through_the_database() -> None:
    for path in NVD_RECORDS:
        import_path(str(path))
    assert NVD_CASES
    devices: list[tuple[str, str, list[tuple[str, str, str]]]] = []  # tag, expected cve, SBOM

    def add(prefix: str, cve: str, fw: str, hw: str | None) -> None:
        comps = [("firmware", parse_cpe23(fw).product, fw)]
        if hw:
            comps.append(("device", parse_cpe23(hw).product, hw))
        devices.append((f"{prefix}-{len(devices):04d}", cve, comps))

    for cve, firmware, hardware in NVD_CASES:
        hw = parse_cpe23(hardware.criteria)
        named_hw = f"cpe:2.3:h:{hw.vendor}:{hw.product}:-:*:*:*:*:*:*:*"
        other_hw = f"cpe:2.3:h:{hw.vendor}:{hw.product}_other_model:-:*:*:*:*:*:*:*"
        for match in firmware:
            for version in vulnerable_versions(match):
                fw = cpe_with_version(match.criteria, version) + ":*:*:*:*:*:*:*"
                add("ON", cve["id"], fw, named_hw)
                add("OTHER", cve["id"], fw, other_hw)
                add("BARE", cve["id"], fw, None)
            fixed = fixed_version(match)
            if fixed is not None and not any(
                parse_cpe23(m.criteria).version == fixed for m in firmware
            ):
                add("FIXED", cve["id"], cpe_with_version(match.criteria, fixed) + ":*:*:*:*:*:*:*",
                    named_hw)  # fmt: skip
    assert sum(tag.startswith("ON-") for tag, _, _ in devices) >= 4
    assert sum(tag.startswith("FIXED-") for tag, _, _ in devices) >= 1
    for tag, _cve, comps in devices:
        Asset.objects.create(
            asset_tag=tag, name=tag, kind=AssetKind.MEDICAL_DEVICE, manufacturer="Maker",
            model=f"Model {tag}", software_version="1",
        )  # fmt: skip
        import_sbom(_cyclonedx(comps), asset_tags=[tag])

    call_command("match", "--quiet")

    found = findings_by_tag()
    for tag, cve, _comps in devices:
        got = found.get(tag, {})
        if tag.startswith("ON-"):
            assert cve in got, (tag, cve, set(got))
            finding = got[cve]
            assert finding.certainty == "confirmed", finding.reason
            assert finding.component_label, "a firmware finding names its component"
            assert "NVD" in finding.sources and "matched CPE" in finding.reason
        else:
            assert cve not in got, (tag, got[cve].reason if cve in got else "")
