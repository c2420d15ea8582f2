"""Bad and hostile files are refused quickly, with a reason, and leave the database as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from medshield.register.errors import ImportRejected
from medshield.sboms.importers import detect, import_sbom, import_vex
from tests.sboms.conftest import CYCLONEDX, MEDICAL, OPENVEX, SPDX, state

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE bom [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><metadata><component type="device">
<name>&lol9;</name></component></metadata></bom>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>
<component type="library"><name>&xxe;</name></component></components></bom>"""

DEEP_XML = (
    b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
    + b'<component type="library"><name>x</name><components>' * 200
    + b"</components></component>" * 200
    + b"</components></bom>"
)

Importer = Callable[[bytes], object]


def _cases() -> list[tuple[str, bytes, Importer, str]]:
    narrow = (MEDICAL / "narrow.sbom.json").read_bytes()
    xml = (CYCLONEDX / "spec-testcases" / "1.6" / "valid-bom-1.6.xml").read_bytes()
    tag_value = (SPDX / "spdx-spec-2.3" / "SPDXTagExample-v2.3.spdx").read_bytes()
    openvex = (OPENVEX / "vexctl" / "demo.vex.json").read_bytes()
    return [
        ("entity bomb", BILLION_LAUGHS, import_sbom, "declares a DTD or entities"),
        ("external entity", EXTERNAL_ENTITY, import_sbom, "declares a DTD or entities"),
        ("deep XML", DEEP_XML, import_sbom, "nests deeper than 64 levels"),
        (
            "deep JSON",
            b'{"bomFormat": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            import_sbom,
            "nests deeper than 64 levels",
        ),
        (
            "deep JSON within the parser's reach",
            b"[" * 500 + b"]" * 500,
            import_sbom,
            "nests deeper than 64 levels",
        ),
        ("truncated JSON", narrow[: len(narrow) // 2], import_sbom, "not valid JSON"),
        ("truncated XML", xml[: len(xml) // 2], import_sbom, "not well-formed XML"),
        ("truncated OpenVEX", openvex[:-40], import_vex, "not valid JSON"),
        ("truncated tag-value", tag_value[: len(tag_value) // 3], import_sbom, "not valid SPDX"),
        ("not UTF-8", b'{"bomFormat": "CycloneDX", "x": "\xff\xfe"}', import_sbom, "not UTF-8"),
        ("empty", b"  \n", import_sbom, "the file is empty"),
        ("unknown JSON", b'{"hello": "world"}', import_sbom, "not a recognised SBOM"),
        ("a JSON array", b"[1, 2, 3]", import_vex, "not a recognised VEX"),
        ("plain text", b"hello world\n", import_sbom, "not a recognised SBOM"),
        (
            "old CycloneDX",
            b'{"bomFormat": "CycloneDX", "specVersion": "1.1"}',
            import_sbom,
            "CycloneDX 1.1 is not supported",
        ),
        (
            "wrong OpenVEX status",
            openvex.replace(b'"fixed"', b'"patched"'),
            import_vex,
            "'patched' is not one of",
        ),
    ]


CASES = _cases()


@pytest.mark.parametrize(
    ("data", "importer", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_it_refuses_and_stores_nothing(data: bytes, importer: Importer, reason: str) -> None:
    import_sbom((MEDICAL / "narrow.sbom.json").read_bytes())  # something to leave untouched
    before = state()
    started = time.monotonic()
    with pytest.raises(ImportRejected) as refused:
        importer(data)
    assert time.monotonic() - started < 5
    assert reason in str(refused.value)
    assert state() == before


def test_a_hostile_file_is_not_detected_as_anything() -> None:
    assert detect(BILLION_LAUGHS) is None
    assert detect(b"[" * 100_000) is None


def test_an_oversized_file_is_refused_before_parsing(settings: Any) -> None:
    settings.MEDSHIELD_SBOM_MAX_BYTES = 1000
    data = (MEDICAL / "narrow.sbom.json").read_bytes()
    with pytest.raises(ImportRejected, match="over the limit of 1,000 bytes"):
        import_sbom(data)
    assert state()["sboms"] == []


def test_a_schema_error_names_the_place() -> None:
    data = (CYCLONEDX / "spec-testcases" / "1.6" / "invalid-component-type-1.6.json").read_bytes()
    with pytest.raises(ImportRejected) as refused:
        import_sbom(data)
    assert str(refused.value.errors[1]).startswith("components[0].type: 'foo' is not one of")


def test_an_xml_schema_error_names_the_line() -> None:
    path = CYCLONEDX / "spec-testcases" / "1.6" / "invalid-missing-component-type-1.6.xml"
    with pytest.raises(ImportRejected) as refused:
        import_sbom(path.read_bytes())
    assert "line " in str(refused.value.errors[1])
    assert "attribute 'type' is required" in str(refused.value)
