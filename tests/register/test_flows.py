"""Declared data flows travel in the register file like every other register object."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medshield.network.models import Flow
from medshield.register.document import ImportRejected, import_document

from .conftest import state

pytestmark = pytest.mark.django_db


def test_flows_import_and_reimport_changes_nothing(loaded: dict[str, Any]) -> None:
    assert Flow.objects.count() == 2
    hl7 = Flow.objects.get(protocol="HL7")
    assert (hl7.source.asset_tag, hl7.destination.asset_tag, hl7.port) == (
        "ME-000123",
        "SV-0002",
        2575,
    )
    before = state()
    result = import_document(copy.deepcopy(loaded))
    assert not result.changed
    assert state() == before


def test_a_changed_purpose_updates_one_flow(loaded: dict[str, Any]) -> None:
    doc = copy.deepcopy(loaded)
    doc["flows"][0]["purpose"] = "アラーム送信"
    result = import_document(doc)
    assert result.counts["flows"]["updated"] == 1
    assert Flow.objects.get(protocol="HL7").purpose == "アラーム送信"


@pytest.mark.parametrize(
    "change,field,reason",
    [
        ({"source": "ME-999"}, "source", "unknown asset ME-999"),
        ({"port": 70000}, "port", "between 1 and 65535"),
        ({"destination": "ME-000123"}, "destination", "from one asset to another"),
        ({"transport": "sctp"}, "transport", "unknown value"),
    ],
)
def test_a_bad_flow_is_refused_with_its_place(
    loaded: dict[str, Any], change: dict[str, Any], field: str, reason: str
) -> None:
    doc = copy.deepcopy(loaded)
    doc["flows"][0].update(change)
    before = state()
    with pytest.raises(ImportRejected) as caught:
        import_document(doc)
    [error] = caught.value.errors
    assert (error.record, error.field) == ("flows[0]", field)
    assert reason in error.reason
    assert state() == before
