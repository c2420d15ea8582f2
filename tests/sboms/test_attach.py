"""Attaching SBOMs to assets or to a product, re-imports, newer and older versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

from medshield.assets.models import Asset
from medshield.core.actor import Actor
from medshield.core.models import ObjectChange
from medshield.register.errors import ImportRejected
from medshield.sboms.importers import import_sbom
from medshield.sboms.models import Component, Sbom
from tests.sboms.conftest import MEDICAL, SPDX, state

pytestmark = pytest.mark.django_db

NARROW = MEDICAL / "narrow.sbom.json"
EXTENDED = MEDICAL / "extended.sbom.json"


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_it_reads_the_medical_device_sbom() -> None:
    result = import_sbom(NARROW.read_bytes(), filename=NARROW.name)
    sbom = result.sbom
    assert (sbom.format, sbom.spec_version) == ("cyclonedx-json", "1.4")
    assert sbom.document_id == "urn:uuid:02826796-d30c-4aa6-b0a8-44207a01cb6c"
    assert sbom.component_count == 55 == Component.objects.filter(sbom=sbom).count()
    soc = Component.objects.get(sbom=sbom, name="Qualcomm Atheros QCA9563")
    assert soc.type == "device" and soc.purl == "pkg:generic/qualcomm_atheros_qca9563"
    assert soc.cpe.startswith("cpe:2.3:h:qualcomm:atheros_qca9563")
    assert soc.supplier == "Qualcomm" and soc.licenses == "Qualcomm"
    assert sbom.timestamp is not None and len(sbom.sha256) == 64


def test_it_keeps_the_dependency_graph() -> None:
    path = MEDICAL.parent / "bom-examples" / "CBOM" / "Example-With-Dependencies" / "bom.json"
    sbom = import_sbom(path.read_bytes()).sbom
    edges = dict(sbom.components.values_list("bom_ref", "depends_on"))
    assert edges["crypto-library"] == ["some-library"]
    assert edges["some-library"] == []


def test_it_attaches_to_listed_assets(infusion_pumps: list[Asset]) -> None:
    result = import_sbom(NARROW.read_bytes(), asset_tags=["ME-0001", "ME-0003"])
    assert result.attachment_changed
    assert {a.asset_tag for a in result.sbom.applicable_assets()} == {"ME-0001", "ME-0003"}
    assert list(Sbom.objects.for_asset(infusion_pumps[0])) == [result.sbom]
    assert not Sbom.objects.for_asset(infusion_pumps[1]).exists()
    # The attachment is in the SBOM's history.
    change = ObjectChange.objects.filter(changes__has_key="assets").get()
    assert change.changes["assets"] == [[], ["ME-0001", "ME-0003"]]


def test_a_product_attachment_is_shared_by_every_matching_asset(
    infusion_pumps: list[Asset],
) -> None:
    result = import_sbom(NARROW.read_bytes(), product=("acme medical", "IP-7", "2.1"))
    sbom = result.sbom
    assert sbom.attached_to_product
    # Case and spaces as typed in the register do not matter; the version does.
    assert {a.asset_tag for a in sbom.applicable_assets()} == {"ME-0001", "ME-0002"}
    assert list(Sbom.objects.for_asset(infusion_pumps[1])) == [sbom]
    assert not Sbom.objects.for_asset(infusion_pumps[2]).exists()
    # A pump registered later with the same model and version shares it at once.
    later = Asset.objects.create(
        asset_tag="ME-0004",
        name="Pump 4",
        kind="medical_device",
        manufacturer="ACME Medical",
        model="ip-7",
        software_version="2.1",
    )
    assert later in sbom.applicable_assets()


def test_assets_or_product_but_not_both(infusion_pumps: list[Asset]) -> None:
    with pytest.raises(ImportRejected, match="not both"):
        import_sbom(NARROW.read_bytes(), asset_tags=["ME-0001"], product=("A", "B", "1"))
    with pytest.raises(ImportRejected, match="no asset with tag ME-9999"):
        import_sbom(NARROW.read_bytes(), asset_tags=["ME-0001", "ME-9999"])
    with pytest.raises(ImportRejected, match="manufacturer and a model"):
        import_sbom(NARROW.read_bytes(), product=("", "IP-7", "2.1"))
    assert Sbom.objects.count() == 0


def test_reimporting_the_same_sbom_changes_nothing(infusion_pumps: list[Asset]) -> None:
    first = import_sbom(NARROW.read_bytes(), product=("Acme Medical", "IP-7", "2.1"))
    before = state()
    again = import_sbom(NARROW.read_bytes(), product=("Acme Medical", "IP-7", "2.1"))
    assert again.action == "unchanged" and not again.attachment_changed
    assert again.sbom.pk == first.sbom.pk
    assert state() == before
    # Without an attachment a re-import keeps the one already set.
    assert import_sbom(NARROW.read_bytes()).action == "unchanged"
    assert state() == before


def test_moving_the_attachment_from_a_product_to_assets(infusion_pumps: list[Asset]) -> None:
    import_sbom(NARROW.read_bytes(), product=("Acme Medical", "IP-7", "2.1"))
    result = import_sbom(NARROW.read_bytes(), asset_tags=["ME-0003"])
    assert result.action == "unchanged" and result.attachment_changed
    sbom = Sbom.objects.get()
    assert not sbom.attached_to_product
    assert [a.asset_tag for a in sbom.applicable_assets()] == ["ME-0003"]


def test_a_newer_version_replaces_the_components() -> None:
    doc = json.loads(NARROW.read_bytes())
    old = import_sbom(_json(doc), actor=Actor(None, "tester"))
    doc["version"] = 2
    doc["components"] = doc["components"][:10]
    doc["dependencies"] = []
    new = import_sbom(_json(doc))
    assert new.action == "updated" and new.sbom.pk == old.sbom.pk
    assert Component.objects.filter(sbom=new.sbom).count() == 10
    sbom = Sbom.objects.get()
    assert (sbom.document_version, sbom.component_count) == (2, 10)
    mine = ObjectChange.objects.filter(object_type=ContentType.objects.get_for_model(Sbom))
    change = mine.filter(object_id=sbom.pk, action="update").latest("pk")
    assert change.changes["component_count"] == [55, 10]
    assert mine.filter(object_id=sbom.pk, action="create").get().user_name == "tester"


def test_an_older_version_is_refused() -> None:
    doc = json.loads(NARROW.read_bytes())
    doc["version"] = 3
    import_sbom(_json(doc))
    before = state()
    doc["version"] = 2
    with pytest.raises(ImportRejected, match="older than the stored version 3"):
        import_sbom(_json(doc))
    assert state() == before


def test_two_sboms_of_one_device_line_both_apply(infusion_pumps: list[Asset]) -> None:
    import_sbom(NARROW.read_bytes(), product=("Acme Medical", "IP-7", "2.1"))
    import_sbom(EXTENDED.read_bytes(), asset_tags=["ME-0002"])
    assert Sbom.objects.for_asset(infusion_pumps[1]).count() == 2
    assert Sbom.objects.for_asset(infusion_pumps[0]).count() == 1


def test_spdx_packages_become_components() -> None:
    path = SPDX / "spdx-spec-2.3" / "SPDXJSONExample-v2.3.spdx.json"
    sbom = import_sbom(path.read_bytes()).sbom
    assert sbom.format == "spdx-json" and sbom.spec_version == "2.3"
    assert sbom.document_id.startswith("http://spdx.org/spdxdocs/spdx-example-444504E0")
    glibc = sbom.components.get(name="glibc")
    assert glibc.version == "2.11.1" and glibc.supplier == "Jane Doe"
    assert glibc.cpe.startswith("cpe:2.3:a:pivotal_software:spring_framework")
    assert glibc.licenses == "LGPL-2.0-only OR LicenseRef-3"
    assert glibc.hashes["MD5"] == "624c1abb3664f4b35547e7c73864ad24"
    jena = sbom.components.get(name="Jena")
    assert jena.purl == "pkg:maven/org.apache.jena/apache-jena@3.12.0"


def test_the_tag_value_example_matches_the_json_one() -> None:
    tv = import_sbom((SPDX / "spdx-spec-2.3" / "SPDXTagExample-v2.3.spdx").read_bytes()).sbom
    assert tv.format == "spdx-tv"
    names = set(tv.components.values_list("name", "version"))
    assert ("glibc", "2.11.1") in names and len(names) == 4


def test_cyclonedx_xml_and_json_of_one_sbom_agree() -> None:
    folder = SPDX.parent / "cyclonedx" / "bom-examples" / "SBOM" / "laravel-7.12.0"
    from_json = import_sbom((folder / "bom.1.4.json").read_bytes()).sbom
    rows = set(from_json.components.values_list("name", "version", "purl"))
    from_json.delete()
    from_xml = import_sbom((folder / "bom.1.4.xml").read_bytes()).sbom
    assert from_xml.format == "cyclonedx-xml"
    assert set(from_xml.components.values_list("name", "version", "purl")) == rows
