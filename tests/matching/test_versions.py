"""The tolerant range parser and comparator (free text, vers:, Japanese)."""

from __future__ import annotations

import pytest

from medshield.matching import compare_versions, parse_range
from medshield.matching.versions import Unparsed, exact_version, next_version, tokenize

IN, OUT, UNSURE = True, False, None


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        ("<=12.2.4", "12.2.4", IN),
        ("<=12.2.4", "12.2.5", OUT),
        ("<=12.2.4", "12.2.4.0", IN),
        ("< 8.2.2", "8.2.1", IN),
        ("< 8.2.2", "8.2.2", OUT),
        (">= 1.0.0 | <= 1.3.1", "1.2", IN),
        (">= 1.0.0 | <= 1.3.1", "1.0.0", IN),
        (">= 1.0.0 | <= 1.3.1", "0.9", OUT),
        (">= 1.0.0 | <= 1.3.1", "1.3.2", OUT),
        (">= v20D29 | <= v20D32 | >= v22D24 | <= v22D28", "v22D25", IN),
        (">= v20D29 | <= v20D32 | >= v22D24 | <= v22D28", "v21D01", OUT),
        ("vers:all/*", "anything", IN),
        ("vers:generic/>=1.0|<2.0", "1.5", IN),
        ("vers:generic/>=1.0|<2.0", "2.0", OUT),
        ("vers:generic/>=1.0|<2.0", "BT03", UNSURE),
        ("vers:pypi/>=2.0|<2.4.1", "2.4.0rc1", IN),
        ("vers:pypi/>=2.0|<2.4.1", "2.4.1", OUT),
        ("vers:npm/<1.2.3", "not-a-version", UNSURE),
        ("2.3.6 and  below", "2.3.6", IN),
        ("2.3.6 and  below", "2.3.7", OUT),
        ("prior to 4.1", "4.0.9", IN),
        ("prior to 4.1", "4.1", OUT),
        ("versions before 3.0", "2.9", IN),
        ("versions before 3.0", "3.0", OUT),
        ("all versions", "0.1", IN),
        ("4.x", "4.2.1", IN),
        ("4.x", "5.0", OUT),
        ("4.X | 5.X", "5.9", IN),
        ("5.x.x", "5.0.3", IN),
        ("2.X", "12.0", OUT),
        ("1.2 以前", "1.2", IN),
        ("1.2 以前", "1.3", OUT),
        ("3.0 未満", "2.9.9", IN),
        ("3.0 未満", "3.0", OUT),
        ("2.0 以降", "2.0", IN),
        ("2.0 以降", "1.9", OUT),
        ("v6 R4 およびそれ以前のバージョン", "v6 R3", IN),
        ("v6 R4 およびそれ以前のバージョン", "v6 R5", OUT),
        ("v6 R4 およびそれ以前のバージョン", "6", UNSURE),
        ("１．２ 以前", "1.1", IN),  # full-width digits (NFKC)
        ("HD 16 | HD23", "HD16", IN),
        ("HD 16 | HD23", "HD 24", OUT),
        (">=BT02 | <= BT06", "BT04", IN),
        ("BT03 | BT04 | BT06", "BT05", OUT),
        ("<=N", "M", IN),
        ("<=N", "O", OUT),
        ("A10 < A11", "A10", IN),
        ("A10 < A11", "A11", OUT),
        ("<= 3.0 D15", "3.0 D14", IN),
        ("<12.2.8.410", "12.2.8.409", IN),
        ("1.4.2.0-9d9eff4", "1.4.2.0-9d9eff4", IN),
        ("1.3.1 Build 13", "1.3.1", UNSURE),
        ("1.3.1 Build 13", "1.3.2", OUT),
        ("distributed  < april 1, 2018", "1.0", UNSURE),
        ("v6.x (with Wireless Battery Modules v9 | v11)", "11", UNSURE),
        ("<= R4.1L1", "R4.1", UNSURE),
        ("<= 8.2", "eight", UNSURE),
        ("<= 8.2", None, UNSURE),
        ("vers:all/*", None, IN),
    ],
)
def test_parse_range(text: str, version: str | None, expected: bool | None) -> None:
    verdict, reason = parse_range(text).contains(version)
    assert verdict is expected, reason
    assert reason


def test_unparseable_ranges_are_kept_as_text() -> None:
    spec = parse_range("distributed  < april 1, 2018")
    assert [type(a) for a in spec.alternatives] == [Unparsed]
    assert parse_range("vers:nonsense").alternatives == (Unparsed("vers:nonsense"),)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2", "1.2.0", 0),
        ("1.2", "1.10", -1),
        ("v8.2.2", "8.2.2", 0),
        ("B.02", "C.02", -1),
        ("BT06", "BT03", 1),
        ("SV20.1", "HD23", None),
        ("1.0", "one", None),
        ("1.0-rc1", "1.0", None),
        ("", "1.0", None),
    ],
)
def test_compare_versions(a: str, b: str, expected: int | None) -> None:
    assert compare_versions(a, b) == expected


def test_tokenize_and_next_version() -> None:
    assert tokenize("V20D29") == (20, "d", 29)
    assert tokenize("012U000061") == (12, "u", 61)
    assert next_version("12.1.3") == "12.1.4"
    assert next_version("012U000061") == "012U000062"
    assert next_version("N") is None


@pytest.mark.parametrize(
    "version",
    # plain (the shortcut) and not (the parser): wildcards, words, operators, separators
    ["8.14.11.5", "2.0-rc1", "r4.1l1", "v20d29", "V2", "1_2", "x", "-", "*", "1.x", "4.*",
     "<1", "all", "=1", "1 | 2", "1.0 (build 3)", "ｖ１．２", "2.0 and below", "1.0、2.0",
     "vers:generic/1"],
)  # fmt: skip
def test_exact_version_is_what_the_parser_makes(version: str) -> None:
    spec = exact_version(version)
    assert spec == parse_range(f"={version}")
    for other in ("8.14.11.5", "1.2", "2.0"):
        assert spec.contains(other) == parse_range(f"={version}").contains(other)
