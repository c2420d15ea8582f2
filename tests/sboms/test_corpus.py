"""The conformance suite: every valid corpus file imports, every invalid one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.register.errors import ImportRejected
from medshield.sboms.importers import detect, import_sbom, import_vex
from medshield.sboms.models import Component, Sbom, VexStatement
from tests.sboms.conftest import CYCLONEDX, OPENVEX, SPDX, corpus_files, ident, state

pytestmark = pytest.mark.django_db

CDX_FILES = corpus_files(CYCLONEDX, ".json", ".xml")
VALID_CDX = [p for p in CDX_FILES if not p.name.startswith("invalid-")]
INVALID_CDX = [p for p in CDX_FILES if p.name.startswith("invalid-")]
SPDX_FILES = corpus_files(SPDX, ".json", ".spdx")
SPDX2 = [p for p in SPDX_FILES if "3.0" not in str(p.relative_to(SPDX))]
SPDX3 = [p for p in SPDX_FILES if p not in SPDX2]
OPENVEX_FILES = corpus_files(OPENVEX, ".json")

#: reasons spdx-tools' validator gives for the SPDX samples that break the 2.3 specification
SPDX_INVALID = {
    "ACME-v2.3.spdx.json": "license_info_from_files must be None if files_analyzed is False",
}


def _import(path: Path) -> object:
    data = path.read_bytes()
    kind = detect(data)
    if kind in ("openvex", "cyclonedx-vex"):
        return import_vex(data, filename=path.name)
    return import_sbom(data, filename=path.name)


def test_the_corpus_is_there() -> None:
    assert len(VALID_CDX) == 59 and len(INVALID_CDX) == 14
    assert len(SPDX2) == 6 and len(SPDX3) == 4 and len(OPENVEX_FILES) == 7


@pytest.mark.parametrize("path", VALID_CDX, ids=ident)
def test_every_valid_cyclonedx_file_imports(path: Path) -> None:
    result = _import(path)
    assert result.action == "created"  # type: ignore[attr-defined]
    # And a second import of the same file changes nothing.
    before = state()
    assert _import(path).action == "unchanged"  # type: ignore[attr-defined]
    assert state() == before


@pytest.mark.parametrize("path", INVALID_CDX, ids=ident)
def test_every_invalid_cyclonedx_file_is_refused_with_a_reason(path: Path) -> None:
    with pytest.raises(ImportRejected) as refused:
        import_sbom(path.read_bytes(), filename=path.name)
    message = str(refused.value)
    assert "not valid CycloneDX 1.6" in message
    # The reason names the broken part: the key or line the schema complains about.
    assert len(refused.value.errors) >= 2 and refused.value.errors[1].reason
    assert Sbom.objects.count() == 0 and Component.objects.count() == 0


@pytest.mark.parametrize("path", SPDX2, ids=ident)
def test_spdx_2_3_samples_import_or_are_refused_by_the_validator(path: Path) -> None:
    data = path.read_bytes()
    assert detect(data) == ("spdx-tv" if path.suffix == ".spdx" else "spdx-json")
    if path.name in SPDX_INVALID:
        with pytest.raises(ImportRejected, match=SPDX_INVALID[path.name]):
            import_sbom(data)
        assert Sbom.objects.count() == 0
        return
    result = import_sbom(data, filename=path.name)
    assert result.action == "created" and result.components > 0
    assert result.sbom.document_id.startswith(("http", "https"))
    assert import_sbom(data).action == "unchanged"


@pytest.mark.parametrize("path", SPDX3, ids=ident)
def test_spdx_3_documents_are_refused_as_unsupported(path: Path) -> None:
    assert detect(path.read_bytes()) is None
    with pytest.raises(ImportRejected, match="SPDX 3 documents are not supported"):
        import_sbom(path.read_bytes())


@pytest.mark.parametrize("path", OPENVEX_FILES, ids=ident)
def test_every_openvex_sample_imports(path: Path) -> None:
    data = path.read_bytes()
    assert detect(data) == "openvex"
    result = import_vex(data, filename=path.name)
    assert result.action == "created" and result.created >= 1
    assert set(VexStatement.objects.values_list("status", flat=True)) <= {
        "in_triage",
        "resolved",
        "not_affected",
        "exploitable",
    }
    assert import_vex(data).action == "unchanged"
