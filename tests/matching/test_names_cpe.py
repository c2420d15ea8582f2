"""Name normalisation, the alias table and CPE parsing."""

from __future__ import annotations

import pytest

from medshield.matching import (
    AliasTable,
    CpeError,
    normalize_name,
    parse_cpe,
    parse_cpe22,
    parse_cpe23,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("GE Healthcare", "GE HealthCare"),
        ("Baxter International Inc.", "Baxter International"),
        ("Siemens Healthineers AG", "siemens healthineers"),
        ("Fresenius Kabi GmbH", "Fresenius Kabi"),
        ("Nihon Kohden Corporation", "NIHON KOHDEN"),
        ("Terumo Co., Ltd.", "Terumo"),
        ("株式会社フクダ電子", "フクダ電子"),
        ("ＦＵＫＵＤＡ　ＤＥＮＳＨＩ", "Fukuda Denshi"),
        ("sigma_spectrum_infusion_system", "Sigma Spectrum Infusion System"),
        ("Smith & Nephew plc", "smith and nephew"),
        ("OFFIS e.V.", "OFFIS"),
    ],
)
def test_normalize_equal(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("GE Healthcare", "General Electric (GE)"), ("Alaris PC Unit", "Alaris PC"), ("B450", "B650")],
)
def test_normalize_different(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # ASCII names take a shortcut (str.translate, patterns run only where they can match);
        # these are the plain path's answers, edge cases included.
        ("& . .", ""),
        ("and", ""),
        ("x band", "x band"),
        ("Brand", "brand"),
        ("ACME, Inc.,", "acme"),
        ("Kabushiki Kaisha", ""),
        ("Acme K.K.", "acme"),
        ("x_inc_co", "x"),
        ("Foo+Bar S.A.", "foo plus bar"),
        ("Foo\x1cCo", "foo"),
        ("Tab\tAnd", "tab"),
        ("株式会社 日立製作所", "日立製作所"),
        ("日立製作所株式会社", "日立製作所株式会社"),
        ("ＡＣＭＥ\u3000Ｉｎｃ．", "acme"),
    ],
)
def test_normalize_edge_cases(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


def test_alias_table_is_user_extended_and_transitive() -> None:
    table = AliasTable()
    assert not table.same("General Electric (GE)", "GE Healthcare")
    extended = table.with_alias("GE HealthCare", "General Electric (GE)").with_alias(
        "GE", "General Electric"
    )
    assert extended.same("General Electric (GE)", "GE Healthcare")
    assert not table.same("General Electric (GE)", "GE Healthcare")  # the original is unchanged
    joined = extended.with_alias("General Electric", "GE Healthcare")
    assert joined.same("GE", "General Electric (GE)")
    groups = AliasTable.from_groups(
        [["Becton, Dickinson and Company (BD)", "BD", "Becton Dickinson"]]
    )
    assert groups.same("bd", "Becton Dickinson and Company")


def test_cpe23_escapes_and_short_strings() -> None:
    cpe = parse_cpe23(r"cpe:2.3:a:acme:patient\:monitor\(x\):1.0:*:*:*:*:*:*:*")
    assert (cpe.part, cpe.vendor, cpe.product, cpe.version) == (
        "a",
        "acme",
        "patient:monitor(x)",
        "1.0",
    )
    assert parse_cpe23(cpe.to_fs()) == cpe
    short = parse_cpe23("cpe:2.3:a:pivotal_software:spring_framework:4.1.0:*:*:*:*:*:")
    assert short.version == "4.1.0" and short.other == "*"
    with pytest.raises(CpeError):
        parse_cpe23("cpe:2.3:a:too:many:1:2:3:4:5:6:7:8:9:10")


def test_cpe22_uri() -> None:
    cpe = parse_cpe22("cpe:/a:jacic:electronic_bidding_core_system")
    assert (cpe.vendor, cpe.product, cpe.version) == (
        "jacic",
        "electronic_bidding_core_system",
        "*",
    )
    enc = parse_cpe("cpe:/a:vendor%28idc%29:prod:1.0::~~~win~x64~")
    assert enc.vendor == "vendor(idc)" and enc.target_sw == "win" and enc.target_hw == "x64"
    with pytest.raises(CpeError):
        parse_cpe("not a cpe")
