"""Generated from every CISA medical advisory in the corpus (issue 5, first acceptance test).

For each product id that an advisory lists as known_affected, a register holding versions inside
its range must get a finding for every vulnerability that lists it, and a register holding the
first version outside the range (the fixed one) must never get a confirmed finding. The expected
versions are derived from the advisory's own product tree, not from the matcher.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path

import pytest

from medshield.matching import (
    Certainty,
    InMemoryAdvisoryService,
    InventoryItem,
    RuleMatcher,
    Status,
    Vulnerability,
    csaf_products,
    csaf_vulnerabilities,
    normalize_name,
    parse_range,
)
from medshield.matching.versions import (
    AnyVersion,
    ExactVersion,
    Interval,
    PrefixVersion,
    Unparsed,
    next_version,
)
from tests.matching.corpus import CSAF_ICSMA

AFFECTED = {"first_affected", "known_affected", "last_affected"}


def previous_version(version: str) -> str | None:
    """The version right before ``version`` by its last non-zero numeric segment."""
    digits = [i for i, c in enumerate(version) if c.isdigit()]
    if not digits:
        return None
    end = digits[-1] + 1
    start = end
    while start > 0 and version[start - 1].isdigit():
        start -= 1
    number = int(version[start:end])
    if number == 0:
        return None
    return version[:start] + str(number - 1).zfill(end - start) + version[end:]


def range_text(product) -> str:  # type: ignore[no-untyped-def]
    return product.version_range or product.version or "vers:all/*"


def affected_samples(text: str) -> list[str]:
    """Versions the advisory itself says are affected: the bounds and exact values of its range."""
    samples: list[str] = []
    for alt in parse_range(text).alternatives:
        if isinstance(alt, AnyVersion):
            samples.append("1.0")
        elif isinstance(alt, ExactVersion):
            samples.append(text if len(parse_range(text).alternatives) == 1 else alt.version)
        elif isinstance(alt, PrefixVersion):
            samples.append(f"{alt.prefix}.0")
        elif isinstance(alt, Interval):
            if alt.lower is not None and alt.lower_inclusive:
                samples.append(alt.lower)
            if alt.upper is not None:
                below = alt.upper if alt.upper_inclusive else previous_version(alt.upper)
                if below is not None:
                    samples.append(below)
        elif isinstance(alt, Unparsed):
            samples.append("1.0")  # any version: the range text cannot decide it
    return samples


def fixed_samples(text: str) -> list[str]:
    """The first versions after a range: ``< X`` gives X; ``<= X`` and ``X`` give the next one."""
    out: list[str] = []
    for alt in parse_range(text).alternatives:
        if isinstance(alt, Interval) and alt.upper is not None:
            nxt = alt.upper if not alt.upper_inclusive else next_version(alt.upper)
            if nxt:
                out.append(nxt)
        elif isinstance(alt, ExactVersion):
            nxt = next_version(alt.version)
            if nxt:
                out.append(nxt)
        elif isinstance(alt, PrefixVersion):
            nxt = next_version(alt.prefix)
            if nxt:
                out.append(f"{nxt}.0")
    return out


def free_text(text: str) -> bool:
    return any(isinstance(a, Unparsed) for a in parse_range(text).alternatives)


@cache
def corpus_vulns() -> tuple[Vulnerability, ...]:
    vulns: list[Vulnerability] = []
    for path in CSAF_ICSMA:
        vulns += csaf_vulnerabilities(json.loads(path.read_text()))
    return tuple(vulns)


@cache
def service() -> InMemoryAdvisoryService:
    # Every advisory at once, so that a product of one advisory wrongly matching another shows up.
    return InMemoryAdvisoryService(corpus_vulns())


def name_key(vendor: str, product: str) -> tuple[str, str]:
    return normalize_name(vendor), normalize_name(product)


@cache
def ranges_by_name() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(vendor, product) -> [(vulnerability id, affected range text)] across the corpus."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for path in CSAF_ICSMA:
        doc = json.loads(path.read_text())
        products = csaf_products(doc)
        for vuln in csaf_vulnerabilities(doc):
            for rule in vuln.rules:
                if rule.category in AFFECTED:  # type: ignore[union-attr]
                    p = products[rule.product_id]  # type: ignore[union-attr]
                    out.setdefault(name_key(p.vendor, p.product), []).append(
                        (vuln.id, range_text(p))
                    )
    return out


def cases() -> list[tuple[Path, str]]:
    out = []
    for path in CSAF_ICSMA:
        doc = json.loads(path.read_text())
        pids = sorted(
            {
                pid
                for v in doc.get("vulnerabilities", ())
                for cat, ids in v.get("product_status", {}).items()
                if cat in AFFECTED
                for pid in ids
            }
        )
        out += [(path, pid) for pid in pids]
    return out


CASES = cases()


def findings_for(item: InventoryItem):  # type: ignore[no-untyped-def]
    return RuleMatcher().match_item(item, service().query(item))


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms, as a Japanese register may hold them."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def test_corpus_present() -> None:
    assert len(CSAF_ICSMA) >= 16
    assert len(CASES) >= 150


@pytest.mark.parametrize(("path", "pid"), CASES, ids=[f"{p.stem}:{pid}" for p, pid in CASES])
def test_advisory_product(path: Path, pid: str) -> None:
    doc = json.loads(path.read_text())
    advisory = doc["document"]["tracking"]["id"]
    product = csaf_products(doc)[pid]
    text = range_text(product)
    expected = {
        v.id
        for v in csaf_vulnerabilities(doc)
        for rule in v.rules
        if rule.product_id == pid and rule.category in AFFECTED  # type: ignore[union-attr]
    }
    same_name = ranges_by_name()[name_key(product.vendor, product.product)]
    allowed = {vid for vid, _ in same_name}

    # Affected versions: a finding for each vulnerability listing the product, and no others.
    for version in affected_samples(text):
        for vendor, name in (
            (product.vendor, product.product),
            # The same register entry as typed by someone else: case, suffix, full-width.
            (f"{product.vendor.upper()}, Inc.", full_width(product.product)),
        ):
            item = InventoryItem(f"{pid}@{version}", vendor, name, version)
            found = {f.vulnerability: f for f in findings_for(item)}
            assert expected <= set(found), (advisory, text, version, set(found))
            assert set(found) <= allowed, (advisory, text, version, set(found) - allowed)
            for vid in expected:
                finding = found[vid]
                assert finding.status is Status.AFFECTED
                assert advisory in finding.advisories
                assert pid in finding.reason
                if not free_text(text):
                    assert finding.certainty is Certainty.CONFIRMED, (text, version, finding)

    # Fixed versions: never a confirmed finding; none at all where every range decides it.
    for version in fixed_samples(text):
        verdicts = [parse_range(t).contains(version)[0] for _, t in same_name]
        if any(v is True for v in verdicts):
            continue  # another entry of the same product lists this version as affected
        item = InventoryItem(f"{pid}@{version}", product.vendor, product.product, version)
        found = findings_for(item)
        assert not [f for f in found if f.certainty is Certainty.CONFIRMED], (text, version)
        if all(v is False for v in verdicts):
            assert found == [], (text, version, [f.reason for f in found])


def test_free_text_edges_are_uncertain_not_guessed() -> None:
    # ICSMA-18-107-01: "distributed  < april 1, 2018" is a date, not a version.
    item = InventoryItem("icd", "Abbott Laboratories", "Fortify Assura", "1.0")
    found = findings_for(item)
    assert found and {f.certainty for f in found} == {Certainty.UNCERTAIN}
    # ICSMA-20-170-04: a version qualified by the battery module's versions.
    item = InventoryItem("lvp", "Baxter", "Sigma Spectrum LVP", "17")
    assert {f.certainty for f in findings_for(item)} == {Certainty.UNCERTAIN}


def test_names_normalised_across_the_corpus() -> None:
    # The register's spelling differs from ICSMA-20-343-01's "GE Healthcare" only by case.
    item = InventoryItem("ct", "GE HealthCare", "Revolution CT", "whatever")
    assert findings_for(item)
    assert unicodedata.normalize("NFKC", full_width("B450")) == "B450"
