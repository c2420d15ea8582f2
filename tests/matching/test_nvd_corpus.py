"""NVD records of the corpus with "firmware running on hardware" configurations (issue 5).

A configuration ``AND(vulnerable firmware, non-vulnerable hardware)`` must match a device only
when both its firmware version and its hardware match; the cases are derived from each record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medshield.matching import (
    Certainty,
    CpeMatch,
    InMemoryAdvisoryService,
    InventoryItem,
    NvdConfiguration,
    RuleMatcher,
    nvd_vulnerability,
    parse_cpe23,
)
from medshield.matching.versions import next_version
from tests.matching.corpus import NVD_RECORDS
from tests.matching.test_csaf_corpus import previous_version


def records() -> list[dict]:
    out = []
    for path in NVD_RECORDS:
        data = json.loads(path.read_text())
        out += [v["cve"] for v in data["vulnerabilities"]] if "vulnerabilities" in data else [data]
    return out


def running_on(cve: dict) -> list[tuple[list[CpeMatch], CpeMatch]]:
    """(vulnerable firmware matches, hardware match) of each AND configuration of the record."""
    out = []
    for config in nvd_vulnerability(cve).rules:
        assert isinstance(config, NvdConfiguration)
        if config.operator != "AND":
            continue
        firmware = [m for n in config.nodes for m in n.matches if m.vulnerable]
        hardware = [
            m
            for n in config.nodes
            for m in n.matches
            if not m.vulnerable and parse_cpe23(m.criteria).part == "h"
        ]
        if firmware and hardware and all(parse_cpe23(m.criteria).part == "o" for m in firmware):
            out += [(firmware, hw) for hw in hardware]
    return out


CASES = [(cve, fw, hw) for cve in records() for fw, hw in running_on(cve)]


def test_corpus_has_running_on_records() -> None:
    ids = {cve["id"] for cve, _, _ in CASES}
    assert {"CVE-2020-12040", "CVE-2022-36385"} <= ids


def cpe_with_version(criteria: str, version: str) -> str:
    fields = parse_cpe23(criteria)
    return f"cpe:2.3:{fields.part}:{fields.vendor}:{fields.product}:{version}"


def vulnerable_versions(match: CpeMatch) -> list[str]:
    """Versions the record itself names as vulnerable: bounds and exact versions."""
    version = parse_cpe23(match.criteria).version
    if not match.has_bounds:
        return [version]
    out = [v for v in (match.version_start_including, match.version_end_including) if v]
    if match.version_end_excluding and (prev := previous_version(match.version_end_excluding)):
        out.append(prev)
    return out


def fixed_version(match: CpeMatch) -> str | None:
    if match.version_end_excluding:
        return match.version_end_excluding
    if match.version_end_including:
        return next_version(match.version_end_including)
    return None


def device(key: str, fw_cpe: str, hw_cpe: str | None, version: str) -> InventoryItem:
    hw = parse_cpe23(hw_cpe) if hw_cpe else None
    return InventoryItem(
        key,
        vendor=parse_cpe23(fw_cpe).vendor,
        product=hw.product if hw else parse_cpe23(fw_cpe).product,
        version=version,
        cpes=(fw_cpe, hw_cpe) if hw_cpe else (fw_cpe,),
    )


@pytest.mark.parametrize(("cve", "firmware", "hardware"), CASES, ids=[c["id"] for c, _, _ in CASES])
def test_firmware_on_hardware(cve: dict, firmware: list[CpeMatch], hardware: CpeMatch) -> None:
    service = InMemoryAdvisoryService([nvd_vulnerability(cve)])
    matcher = RuleMatcher()
    hw = parse_cpe23(hardware.criteria)
    named_hw = f"cpe:2.3:h:{hw.vendor}:{hw.product}:-"
    other_hw = f"cpe:2.3:h:{hw.vendor}:{hw.product}_other_model:-"

    def ids(item: InventoryItem) -> dict[str, Certainty]:
        return {f.vulnerability: f.certainty for f in matcher.match_item(item, service.query(item))}

    for match in firmware:
        for version in vulnerable_versions(match):
            fw = cpe_with_version(match.criteria, version)
            on_named = ids(device("named", fw, named_hw, version))
            assert on_named == {cve["id"]: Certainty.CONFIRMED}, (fw, on_named)
            assert ids(device("other", fw, other_hw, version)) == {}, fw
            assert ids(device("bare", fw, None, version)) == {}, fw  # hardware unknown: AND fails
        fixed = fixed_version(match)
        if fixed is not None:
            listed = any(parse_cpe23(m.criteria).version == fixed for m in firmware)
            fw = cpe_with_version(match.criteria, fixed)
            if not listed:
                assert ids(device("fixed", fw, named_hw, fixed)) == {}, fw


def test_baxter_sigma_spectrum() -> None:
    """CVE-2020-12040: firmware 6.0-6.05 and 8.0 on the Sigma Spectrum infusion system."""
    (cve,) = [c for c in records() if c["id"] == "CVE-2020-12040"]
    service = InMemoryAdvisoryService([nvd_vulnerability(cve)])
    fw = "cpe:2.3:o:baxter:sigma_spectrum_infusion_system_firmware:{}:*:*:*:*:*:*:*"
    hw = "cpe:2.3:h:baxter:sigma_spectrum_infusion_system:-:*:*:*:*:*:*:*"

    def certainty(version: str, cpes: tuple[str, ...], hardware: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
        item = InventoryItem("pump", "Baxter", "Sigma Spectrum", version, cpes, hardware=hardware)
        found = RuleMatcher().match_item(item, service.query(item))
        return found[0].certainty if found else None

    assert certainty("6.02", (fw.format("6.02"), hw)) is Certainty.CONFIRMED
    assert certainty("8.0", (fw.format("8.0"), hw)) is Certainty.CONFIRMED
    assert certainty("6.06", (fw.format("6.06"), hw)) is None
    assert certainty("5.9", (fw.format("5.9"), hw)) is None
    assert certainty("8.1", (fw.format("8.1"), hw)) is None
    # The firmware version in the item rather than the CPE ("*"), as SBOM tools often write it.
    assert certainty("6.01", (fw.format("*"), hw)) is Certainty.CONFIRMED
    # Hardware known only by name: the platform match cannot be better than uncertain.
    named = ("Sigma Spectrum Infusion System",)
    assert certainty("6.01", (fw.format("6.01"),), named) is Certainty.UNCERTAIN
    # An undecidable firmware version on the right hardware.
    assert certainty("6.x-beta", (fw.format("6.x-beta"), hw)) is Certainty.UNCERTAIN


def test_contec_firmware_without_version() -> None:
    """CVE-2022-36385 names the firmware with version "-": only "-" itself is certain."""
    (cve,) = [c for c in records() if c["id"] == "CVE-2022-36385"]
    service = InMemoryAdvisoryService([nvd_vulnerability(cve)])
    hw = "cpe:2.3:h:contechealth:cms8000:-:*:*:*:*:*:*:*"
    fw = "cpe:2.3:o:contechealth:cms8000_firmware:{}:*:*:*:*:*:*:*"
    for version, expected in (("-", Certainty.CONFIRMED), ("1.0", Certainty.UNCERTAIN)):
        item = InventoryItem("mon", "Contec", "CMS8000", version, (fw.format(version), hw))
        (finding,) = RuleMatcher().match_item(item, service.query(item))
        assert finding.certainty is expected, finding.reason
        assert "cms8000_firmware" in finding.reason and "cms8000:-" in finding.reason


def test_plain_software_configuration() -> None:
    """CVE-2022-2119 (DCMTK < 3.6.7) on an SBOM component with a CPE and on one without."""
    path = next(p for p in NVD_RECORDS if p.name == "CVE-2022-2119.json")
    service = InMemoryAdvisoryService([nvd_vulnerability(json.loads(Path(path).read_text()))])
    with_cpe = InventoryItem(
        "c1", "OFFIS", "DCMTK", "3.6.6", ("cpe:2.3:a:offis:dcmtk:3.6.6",), kind="component"
    )
    by_name = InventoryItem("c2", "OFFIS e.V.", "dcmtk", "3.6.6", kind="component")
    fixed = InventoryItem("c3", "OFFIS", "DCMTK", "3.6.7", ("cpe:2.3:a:offis:dcmtk:3.6.7",))
    m = RuleMatcher()
    assert [f.certainty for f in m.match_item(with_cpe, service.query(with_cpe))] == [
        Certainty.CONFIRMED
    ]
    assert [f.certainty for f in m.match_item(by_name, service.query(by_name))] == [
        Certainty.UNCERTAIN
    ]
    assert m.match_item(fixed, service.query(fixed)) == []
