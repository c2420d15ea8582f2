"""The compiled NVD path and the per-identity cache give exactly the plain evaluation's answers.

``reference_evidence`` below is the straightforward evaluation the engine used before
compiled.py (every range parsed and compared afresh); random configurations (AND/OR, negated
nodes, platform entries, bounds, exact and "-" versions) on random items must get the same
verdict, certainty and reason from both.
"""

from __future__ import annotations

import gc
import random

import pytest

from medshield.matching import (
    AliasTable,
    ConfigNode,
    CpeMatch,
    Evidence,
    InMemoryAdvisoryService,
    InventoryItem,
    NvdConfiguration,
    RuleMatcher,
    StaticInventory,
    Vulnerability,
    parse_cpe,
)
from medshield.matching.cpe import (
    ANY,
    NA,
    Cpe,
    CpeError,
    _attr_match,
    _split_fs,
    parse_cpe23,
    vendor_product,
)
from medshield.matching.model import Certainty, Source
from medshield.matching.versions import Interval, Tri, parse_range, tri_all, tri_any

ALIASES = AliasTable.from_groups([["acme", "ACME Medical Inc."]])


# --- the plain evaluation (the oracle) ----------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return ALIASES.same(a, b)


def _identity(criterion: Cpe, name: Cpe) -> bool:
    if not _attr_match(criterion.part, name.part):
        return False
    if not (_same(criterion.vendor, name.vendor) and _same(criterion.product, name.product)):
        return False
    rest = ("update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other")
    return all(_attr_match(getattr(criterion, f), getattr(name, f)) for f in rest)


def _version(criterion: Cpe, m: CpeMatch, version: str | None) -> tuple[Tri, str]:
    if m.has_bounds:
        interval = Interval(
            lower=m.version_start_including or m.version_start_excluding,
            lower_inclusive=m.version_start_excluding is None,
            upper=m.version_end_including or m.version_end_excluding,
            upper_inclusive=m.version_end_excluding is None,
        )
        if version is None or version in {ANY, NA}:
            return None, f"no version to compare with {interval.describe()}"
        return interval.contains(version)
    if criterion.version == ANY:
        return True, "all versions"
    if criterion.version == NA:
        if criterion.part == "h":
            return True, "hardware (no version)"
        if version == NA:
            return True, "version '-' on both sides"
        return None, f"the rule names no version ('-'), the item has {version!r}"
    if version is None or version in {ANY, NA}:
        return None, f"no version to compare with {criterion.version!r}"
    return parse_range(f"={criterion.version}").contains(version)


def _match(item: InventoryItem, m: CpeMatch) -> tuple[Tri, str]:
    criterion = parse_cpe(m.criteria)
    for text in item.cpes:
        name = parse_cpe(text)
        if not _identity(criterion, name):
            continue
        if name.part == "h":
            version = None if name.version == ANY else name.version
        else:
            version = item.version if name.version == ANY else name.version
        verdict, why = _version(criterion, m, version)
        return verdict, f"{m.criteria} matched CPE {text}: {why}"
    if criterion.part == "h":
        products = item.hardware + (() if item.cpes else (item.product,))
    else:
        products = () if item.cpes else (item.product,)
    if _same(criterion.vendor, item.vendor) and any(_same(criterion.product, p) for p in products):
        version = None if criterion.part == "h" else item.version
        verdict, why = _version(criterion, m, version)
        verdict = None if verdict is True else verdict
        return verdict, f"{m.criteria} matched by name only (no CPE): {why}"
    return False, ""


def reference_evidence(item: InventoryItem, rule: NvdConfiguration) -> Evidence | None:
    results = []
    for node in rule.nodes:
        found = [(m, *_match(item, m)) for m in node.matches]
        verdicts = [v for _, v, _ in found]
        verdict = tri_all(verdicts) if node.operator == "AND" else tri_any(verdicts)
        reasons = [why for _, v, why in found if v is not False and why]
        hit = any(m.vulnerable and v is not False for m, v, _ in found)
        if node.negate:
            verdict = None if verdict is None else not verdict
            reasons = [f"NOT({'; '.join(reasons) or 'no match'})"]
        results.append((verdict, reasons, hit))
    verdicts = [v for v, _, _ in results]
    verdict = tri_all(verdicts) if rule.operator == "AND" else tri_any(verdicts)
    if rule.negate:
        verdict = None if verdict is None else not verdict
    if verdict is False or not any(hit for _, _, hit in results):
        return None
    joiner = " AND " if rule.operator == "AND" else " OR "
    reason = joiner.join("; ".join(r) for _, r, _ in results if r)
    certainty = Certainty.CONFIRMED if verdict is True else Certainty.UNCERTAIN
    return Evidence(rule.source, rule.advisory, certainty, f"configuration {reason}")


# --- random cases -------------------------------------------------------------------------------

PRODUCTS = [("acme", "pump", "o"), ("acme", "pump_hw", "h"), ("other", "lib", "a")]
VERSIONS = ["1.0", "1.2", "1.2.0", "1.10", "2.0", "2.0.1", "3", "v2.1", "1.2b", "BT03", "-"]


def random_match(rng: random.Random) -> CpeMatch:
    vendor, product, part = rng.choice(PRODUCTS)
    if rng.random() < 0.1:
        vendor = "ACME Medical Inc." if vendor == "acme" else vendor  # an alias spelling
    version = rng.choice(["*", "*", "*", "-", rng.choice(VERSIONS[:-1])])
    bounds: dict[str, str] = {}
    if version == "*" and rng.random() < 0.8:
        for key in rng.sample(
            [
                "version_start_including",
                "version_start_excluding",
                "version_end_including",
                "version_end_excluding",
            ],
            rng.randint(1, 2),
        ):
            bounds[key] = rng.choice(VERSIONS[:-1])
    criteria = f"cpe:2.3:{part}:{vendor.replace(' ', '_')}:{product}:{version}:*:*:*:*:*:*:*"
    return CpeMatch(criteria, vulnerable=rng.random() < 0.8, **bounds)  # type: ignore[arg-type]


def random_rule(rng: random.Random, n: int) -> NvdConfiguration:
    nodes = tuple(
        ConfigNode(
            tuple(random_match(rng) for _ in range(rng.randint(1, 3))),
            operator=rng.choice(["OR", "OR", "AND"]),
            negate=rng.random() < 0.15,
        )
        for _ in range(rng.randint(1, 3))
    )
    return NvdConfiguration(
        nodes, operator=rng.choice(["OR", "AND"]), negate=rng.random() < 0.05, advisory=f"R{n}"
    )


def random_item(rng: random.Random, n: int) -> InventoryItem:
    version = rng.choice([*VERSIONS, None])
    cpes: tuple[str, ...] = ()
    roll = rng.random()
    if roll < 0.4:
        cpes = (f"cpe:2.3:o:acme:pump:{rng.choice(['*', '1.2', '2.0'])}:*:*:*:*:*:*:*",)
        if rng.random() < 0.5:
            cpes += ("cpe:2.3:h:acme:pump_hw:-:*:*:*:*:*:*:*",)
    elif roll < 0.5:
        cpes = ("cpe:2.3:a:other:lib:*:*:*:*:*:*:*:*",)
    return InventoryItem(
        key=f"i{n}",
        vendor=rng.choice(["acme", "ACME Medical Inc.", "other"]),
        product=rng.choice(["pump", "lib", "pump_hw"]),
        version=version,
        cpes=cpes,
        hardware=("pump_hw",) if rng.random() < 0.3 else (),
    )


def _agreeing(
    matcher: RuleMatcher, items: list[InventoryItem], rules: list[NvdConfiguration]
) -> int:
    """Assert the matcher decides every (item, rule) as the reference does; how many matched."""
    decided = 0
    for item in items:
        for rule in rules:
            expected = reference_evidence(item, rule)
            assert matcher.evaluate(item, rule) == expected, (item, rule)
            decided += expected is not None
    return decided


def test_compiled_nvd_path_agrees_with_the_plain_evaluation() -> None:
    rng = random.Random(20261126)
    matcher = RuleMatcher(ALIASES)
    rules = [random_rule(rng, n) for n in range(150)]
    items = [random_item(rng, n) for n in range(40)]
    decided = _agreeing(matcher, items, rules)
    # The random cases must exercise both outcomes, or the comparison proves little.
    assert 100 < decided < len(items) * len(rules) - 100


def test_fleet_match_repeats_each_identity_findings_for_every_item() -> None:
    rule = NvdConfiguration(
        (
            ConfigNode(
                (CpeMatch("cpe:2.3:a:other:lib:*:*:*:*:*:*:*:*", version_end_excluding="2"),)
            ),
        ),
        advisory="CVE-2026-1",
    )
    vuln = Vulnerability.create({"CVE-2026-1"}, rules=(rule,), sources={Source.NVD})
    same = [
        InventoryItem(f"sbom{n}:c1", "other", "lib", "1.5", kind="component", asset_key=f"a{n}")
        for n in range(3)
    ]
    newer = InventoryItem("sbom9:c1", "other", "lib", "2.5", kind="component")
    findings = RuleMatcher().match(StaticInventory((*same, newer)), InMemoryAdvisoryService([vuln]))
    assert [f.item for f in findings] == same  # every copy, in order, and not the newer one
    assert {f.reason for f in findings} == {findings[0].reason}


@pytest.mark.parametrize("enabled", [True, False])
def test_match_restores_the_garbage_collector_state(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        RuleMatcher().match(StaticInventory(()), InMemoryAdvisoryService([]))
        RuleMatcher().match_item(InventoryItem("k", "v", "p"), [])
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize(
    ("lower", "lower_inclusive", "upper", "upper_inclusive"),
    [("1.2", True, "2.0", False), ("1.2", False, None, False), (None, True, "1.10", True)],
)
def test_interval_verdict_is_the_verdict_of_contains(
    lower: str | None, lower_inclusive: bool, upper: str | None, upper_inclusive: bool
) -> None:
    interval = Interval(lower, lower_inclusive, upper, upper_inclusive)
    seen = set()
    for version in [*VERSIONS, "1.2.0.0", "2.0-rc1", "10"]:
        verdict = interval.verdict(version)
        assert verdict == interval.contains(version)[0], version
        seen.add(verdict)
    assert seen == {True, False, None}


def test_plain_split_and_escape_aware_split_read_cpes_alike() -> None:
    plain = "cpe:2.3:a:Vendor:Product_X:1.2.3:*:*:*:*:*:*:*"
    assert _split_fs(plain[len("cpe:2.3:") :]) == plain[len("cpe:2.3:") :].split(":")
    assert parse_cpe23(plain).product == "product_x"
    escaped = parse_cpe23(r"cpe:2.3:a:acme:a\:b\!:1.0:*:*:*:*:*:*:*")
    assert (escaped.product, escaped.version) == ("a:b!", "1.0")


@pytest.mark.parametrize(
    "text",
    [
        "cpe:2.3:a:Vendor:Product_X:1.2.3:*:*:*:*:*:*:*",
        " CPE:2.3:o:acme:pump ",
        "cpe:2.3:h:acme::-:*:*:*:*:*:*:*",
        r"cpe:2.3:a:acme:a\:b:1.0:*:*:*:*:*:*:*",
        "cpe:/a:acme:pump%21:1.0",
        "cpe:2.3::acme:pump:1:*:*:*:*:*:*:*",
        "cpe:2.3:a:acme:pump:1:*:*:*:*:*:*:*:extra",
        "not a cpe",
    ],
)
def test_vendor_product_reads_names_as_parse_cpe_does(text: str) -> None:
    try:
        cpe = parse_cpe(text)
    except CpeError:
        assert vendor_product(text) is None
    else:
        assert vendor_product(text) == (cpe.vendor, cpe.product)


def test_a_range_of_another_product_is_not_parsed() -> None:
    """Ranges are compiled when an item's names reach them: the platform here never is."""
    rule = NvdConfiguration(
        (
            ConfigNode(
                (CpeMatch("cpe:2.3:a:acme:pump:*:*:*:*:*:*:*:*", version_end_excluding="2"),)
            ),
            ConfigNode((CpeMatch("cpe:2.3:h:other:board:-:*:*:*:*:*:*:*", vulnerable=False),)),
        ),
        operator="AND",
    )
    item = InventoryItem("i", "acme", "pump", "1.5", cpes=("cpe:2.3:a:acme:pump:*:*:*:*:*:*:*:*",))
    matcher = RuleMatcher()
    assert matcher.evaluate(item, rule) is None  # the platform is not this item's
    (_, _, (own,)), (_, _, (platform,)) = matcher._compiled(rule).nodes
    assert own.cpe == parse_cpe(own.match.criteria) and own.interval is not None
    assert platform.cpe is None and platform.interval is None and platform.exact is None


def test_the_index_and_the_matcher_share_the_names_they_read() -> None:
    rng = random.Random(7)
    vulns = [
        Vulnerability.create({f"CVE-2026-{n}"}, rules=(random_rule(rng, n),), sources={Source.NVD})
        for n in range(60)
    ]
    service = InMemoryAdvisoryService(vulns, ALIASES)
    shared, alone = RuleMatcher(ALIASES, names=service.names), RuleMatcher(ALIASES)
    items = [random_item(rng, n) for n in range(30)]
    found = [shared.match_item(item, service.query(item)) for item in items]
    assert found == [alone.match_item(item, service.query(item)) for item in items]
    assert any(found)
    with pytest.raises(ValueError, match="other aliases"):
        RuleMatcher(AliasTable(), names=service.names)


def test_attributes_beyond_the_version_are_compared_as_the_plain_evaluation_does() -> None:
    """Update, edition, target... (ANY in nearly every NVD range, so the random cases skip them)."""
    rest = [
        "*:*:*:*:*:*:*",
        "sp1:*:*:*:*:*:*",
        "sp*:*:*:*:*:*:*",
        "*:*:*:*:*:x86:*",
        "-:*:*:*:*:*:*",
    ]
    rules = [
        NvdConfiguration(
            (ConfigNode((CpeMatch(f"cpe:2.3:o:acme:pump:{version}:{tail}", **bounds),)),),
            advisory=f"R{n}",
        )
        for n, (version, tail, bounds) in enumerate(
            (version, tail, bounds)
            for tail in rest
            for version, bounds in (
                ("*", {"version_end_excluding": "2.0"}),
                ("1.2", {}),
                ("-", {}),
            )
        )
    ]
    items = [
        InventoryItem(f"i{n}", "acme", "pump", "1.2", cpes=(f"cpe:2.3:o:acme:pump:{v}:{tail}",))
        for n, (v, tail) in enumerate(
            (v, tail) for v in ("*", "1.2", "-") for tail in [*rest, "sp2:*:*:*:*:arm:*"]
        )
    ]
    matcher = RuleMatcher()
    decided = _agreeing(matcher, items, rules)
    assert 20 < decided < len(items) * len(rules) - 20
