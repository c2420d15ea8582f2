"""The matcher on synthetic rules: CSAF statuses, VEX, JVN, purl, aliases and the JSON report."""

from __future__ import annotations

import json

from medshield.matching import (
    EMPTY_ALIASES,
    AliasTable,
    Certainty,
    InMemoryAdvisoryService,
    InventoryItem,
    JsonReport,
    PurlRule,
    RuleMatcher,
    Source,
    StaticInventory,
    Status,
    VexStatement,
    Vulnerability,
    csaf_vulnerabilities,
    jvn_vulnerabilities,
    merge_aliases,
    primary_id,
)
from tests.matching.corpus import CSAF_ICSMA, JVN_DETAILS


def _branch(vendor: str, product: str, category: str, version: str, pid: str, **helper) -> dict:  # type: ignore[no-untyped-def]
    leaf: dict = {"name": f"{vendor} {product} {version}", "product_id": pid}
    if helper:
        leaf["product_identification_helper"] = helper
    return {
        "category": "vendor",
        "name": vendor,
        "branches": [
            {
                "category": "product_name",
                "name": product,
                "branches": [{"category": category, "name": version, "product": leaf}],
            }
        ],
    }


VEX_DOC = {
    "document": {"category": "csaf_vex", "tracking": {"id": "ACME-2026-001"}},
    "product_tree": {
        "branches": [
            _branch("ACME Medical", "InfuPump", "product_version_range", "vers:generic/<3.0", "P1"),
            _branch("ACME Medical", "InfuPump", "product_version", "3.0", "P2"),
            _branch("ACME Medical", "Gateway", "product_version", "2.1", "P3"),
            _branch("ACME Medical", "Monitor", "product_version_range", "<= 5.0", "P4",
                    model_numbers=["MX-4??-J*"]),
        ],
        "product_groups": [{"group_id": "G1", "product_ids": ["P3"]}],
    },
    "vulnerabilities": [
        {
            "cve": "CVE-2026-0001",
            "ids": [{"system_name": "ACME", "text": "ACME-SA-17"}],
            "product_status": {
                "known_affected": ["P1", "P4"],
                "fixed": ["P2"],
                "known_not_affected": ["P3"],
            },
            "flags": [{"label": "vulnerable_code_not_present", "group_ids": ["G1"]}],
            "remediations": [
                {"category": "vendor_fix", "details": "Update to 3.0", "product_ids": ["P1", "P2"]}
            ],
        },
        {"cve": "CVE-2026-0002", "product_status": {"under_investigation": ["P3"]}},
    ],
}  # fmt: skip


def run(items, vulns, aliases=EMPTY_ALIASES, vex=()):  # type: ignore[no-untyped-def]
    service = InMemoryAdvisoryService(vulns, aliases)
    return RuleMatcher(aliases, vex).match(StaticInventory(tuple(items)), service)


def test_csaf_statuses() -> None:
    vulns = csaf_vulnerabilities(VEX_DOC)
    assert vulns[0].id == "CVE-2026-0001" and vulns[0].aliases == {"ACME-SA-17"}
    items = [
        InventoryItem("old", "ACME Medical Inc.", "InfuPump", "2.9"),
        InventoryItem("new", "ACME Medical", "InfuPump", "3.0"),
        InventoryItem("gw", "ACME Medical", "Gateway", "2.1"),
        InventoryItem("mx", "Somebody", "Bedside monitor", "4.0", model_numbers=("MX-412-J01",)),
        InventoryItem("mx-other", "Somebody", "Bedside monitor", "4.0", model_numbers=("MX-5",)),
    ]
    found = {(f.item.key, f.vulnerability): f for f in run(items, vulns)}
    assert found[("old", "CVE-2026-0001")].status is Status.AFFECTED
    assert found[("old", "CVE-2026-0001")].certainty is Certainty.CONFIRMED
    assert found[("old", "CVE-2026-0001")].sources == (Source.VEX,)
    assert ("new", "CVE-2026-0001") not in found  # fixed alone creates no finding
    assert ("gw", "CVE-2026-0001") not in found  # known_not_affected alone neither
    inv = found[("gw", "CVE-2026-0002")]
    assert inv.status is Status.UNDER_INVESTIGATION and inv.certainty is Certainty.UNCERTAIN
    assert "model number 'MX-412-J01'" in found[("mx", "CVE-2026-0001")].reason
    assert ("mx-other", "CVE-2026-0001") not in found


def test_vex_closes_an_nvd_finding_with_its_justification() -> None:
    nvd = Vulnerability.create(
        {"CVE-2022-2119"},
        rules=(PurlRule("pkg:generic/offis/dcmtk", "< 3.6.7", source=Source.NVD, advisory="NVD"),),
        sources={Source.NVD},
    )
    item = InventoryItem("pacs", "OFFIS", "DCMTK", "3.6.6", purl="pkg:generic/offis/dcmtk@3.6.6")
    statement = VexStatement(
        "CVE-2022-2119",
        Status.NOT_AFFECTED,
        purl="pkg:generic/offis/dcmtk",
        justification="vulnerable_code_not_in_execute_path",
        author="PACS vendor",
        document="VEX-PACS-1",
    )
    (finding,) = run([item], [nvd], vex=[statement])
    assert finding.status is Status.NOT_AFFECTED
    assert finding.justification and "vulnerable_code_not_in_execute_path" in finding.justification
    assert "VEX-PACS-1" in finding.advisories and Source.VEX in finding.sources
    # A statement limited to other versions leaves the finding open.
    later = VexStatement(
        "CVE-2022-2119", Status.FIXED, purl="pkg:generic/offis/dcmtk", versions=">= 3.6.7"
    )
    (open_finding,) = run([item], [nvd], vex=[later])
    assert open_finding.status is Status.AFFECTED and open_finding.justification is None
    # A statement whose versions cannot be compared annotates instead of closing.
    vague = VexStatement(
        "CVE-2022-2119", Status.FIXED, purl="pkg:generic/offis/dcmtk", versions="R2 以降"
    )
    (annotated,) = run([item], [nvd], vex=[vague])
    assert annotated.status is Status.AFFECTED and "may not apply" in annotated.reason


def test_aliases_join_register_and_advisory_names() -> None:
    doc = json.loads(next(p for p in CSAF_ICSMA if p.stem == "icsma-20-023-01").read_text())
    vulns = csaf_vulnerabilities(doc)
    item = InventoryItem("b450", "GE HealthCare", "B450", "2.1")
    assert run([item], vulns) == []  # "General Electric (GE)" is not the same name
    aliases = AliasTable().with_alias("GE HealthCare", "General Electric (GE)")
    found = run([item], vulns, aliases)
    assert found and all(f.certainty is Certainty.CONFIRMED for f in found)
    assert {f.advisories for f in found} == {("ICSMA-20-023-01",)}


def test_jvn_detail_records() -> None:
    vulns = [v for p in JVN_DETAILS for v in jvn_vulnerabilities(p.read_bytes())]
    assert {v.id for v in vulns} >= {"CVE-2021-36745"}
    sp = next(v for v in vulns if v.id == "CVE-2021-36745")
    assert "JVNDB-2021-002774" in sp.aliases
    item = InventoryItem(
        "av", "TrendMicro", "ServerProtect", "5.8", cpes=("cpe:/a:trendmicro:serverprotect",)
    )
    (finding,) = run([item], vulns)
    # "for EMC Celerra 5.8 (Build 1577) 未満" names an edition and a build: not decidable.
    assert finding.certainty is Certainty.UNCERTAIN and Source.JVN in finding.sources


def test_merge_aliases_and_primary() -> None:
    a = Vulnerability.create({"ICSMA-22-174-01#1", "CVE-2022-2119"}, sources={Source.CSAF})
    b = Vulnerability.create({"CVE-2022-2119"}, sources={Source.NVD})
    c = Vulnerability.create({"JVNDB-2022-001", "CVE-2022-2119"}, sources={Source.JVN})
    (merged,) = merge_aliases([a, b, c])
    assert merged.id == "CVE-2022-2119"
    assert merged.aliases == {"ICSMA-22-174-01#1", "JVNDB-2022-001"}
    assert merged.sources == {Source.CSAF, Source.NVD, Source.JVN}
    assert primary_id({"JVNDB-2024-000123", "ICSMA-23-285-01"}) == "ICSMA-23-285-01"


def test_json_report_keys() -> None:
    vulns = csaf_vulnerabilities(VEX_DOC)
    item = InventoryItem(
        "pump-7", "ACME Medical", "InfuPump", "1.0", kind="component", asset_key="A-0007"
    )
    rows = json.loads(JsonReport().format(run([item], vulns)))
    assert rows and all(
        {"asset_tag", "cve", "advisories", "certainty", "status", "reason"} <= set(r) for r in rows
    )
    assert rows[0]["asset_tag"] == "A-0007" and rows[0]["advisories"] == ["ACME-2026-001"]
