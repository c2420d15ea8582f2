"""Spreadsheets as hospitals write them: Japanese headers, combined places, Shift_JIS."""

from __future__ import annotations

from typing import Any

import pytest

from medshield.assets.models import Asset
from medshield.network.models import Cable, IPAddress
from medshield.register.document import import_document, read_register
from medshield.register.vocabulary import field_for_header, parse_bool, parse_choice

pytestmark = pytest.mark.django_db

JAPANESE = (
    "管理番号,機器名称,区分,状態,製造元,型番,製造番号,ファームウェア,診療科,責任者,臨床重要度,"
    "患者情報,設置場所,IF,MAC,IPアドレス,接続先スイッチ,スイッチポート,備考,棚卸日\r\n"
    "ME-2001,輸液ポンプ,医療機器,稼働中,テルモ,TE-LM800,A123,1.02,ICU,ME室,生命維持,○,"
    "本館-not-used,,,,,,,2024-04-01\r\n"
    "ME-2002,心電計,医療機器,保管中,フクダ電子,FCP-8800,B456,,生理検査,ME室,診断,いいえ,"
    "MAIN／B／2F／201,eth0,00-1A-2B-3C-4D-60,10.1.10.60、10.1.10.61,NW-0042,Gi1/0/2,,2024-04-01\r\n"
    "SV-2003,電子カルテ,サーバー,稼働中,,,,,,情報システム課,,有,A > B1 > SV,eth0,,10.1.20.30,,,"
    "仮想化前の物理機,2024-04-01\r\n"
)


def _japanese_csv() -> str:
    # 設置場所 of the first row is fixed below: building/floor/room, the only site implied.
    return JAPANESE.replace("本館-not-used", "A/3F/301")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_it_reads_japanese_headers_and_values(loaded: dict[str, Any], encoding: str) -> None:
    parsed = read_register(_japanese_csv().encode(encoding), filename="機器台帳.csv")
    assert parsed.format == "csv"
    assert parsed.unknown_columns == ["棚卸日"]
    mapped = {c.header: c.field for c in parsed.columns}
    assert mapped["設置場所"] == "place" and mapped["IF"] == "interface"
    result = import_document(parsed.document, source=parsed.source)
    assert result.counts["assets"]["created"] == 3

    pump = Asset.objects.get(asset_tag="ME-2001")
    assert (pump.kind, pump.criticality, pump.handles_patient_data) == (
        "medical_device",
        "life_sustaining",
        True,
    )
    assert pump.room is not None and pump.room.path == "MAIN/A/3F/301"
    ecg = Asset.objects.get(asset_tag="ME-2002")
    assert ecg.status == "stored" and ecg.handles_patient_data is False
    assert ecg.room is not None and ecg.room.path == "MAIN/B/2F/201"
    addresses = sorted(
        IPAddress.objects.filter(interface__asset=ecg).values_list("address", flat=True)
    )
    assert addresses == ["10.1.10.60", "10.1.10.61"]
    assert ecg.interfaces.get().mac == "00:1a:2b:3c:4d:60"
    # the ECG takes the switch port the ultrasound had: the old cable goes
    cable = Cable.objects.get(b_interface__name="Gi1/0/2")
    assert cable.a_interface.asset == ecg
    server = Asset.objects.get(asset_tag="SV-2003")
    assert server.kind == "server" and server.rack is None and server.room is not None
    assert server.notes == "仮想化前の物理機"


def test_a_changed_mapping_is_applied(loaded: dict[str, Any]) -> None:
    parsed = read_register(_japanese_csv().encode(), mapping={19: "notes", 18: None})
    notes = {a["asset_tag"]: a["notes"] for a in parsed.document["assets"]}
    assert notes["ME-2001"] == "2024-04-01"
    assert parsed.unknown_columns == ["備考"]


def test_the_vocabulary() -> None:
    assert field_for_header(" ＩＰアドレス ") == "ip_addresses"
    assert field_for_header("S/N") == "serial_number"
    assert field_for_header("Asset Tag") == "asset_tag"
    assert field_for_header("棚卸日") is None
    assert parse_choice.__name__ == "parse_choice"
    from medshield.assets.choices import AssetKind, Criticality

    assert parse_choice(AssetKind, "サーバ") == "server"
    assert parse_choice(AssetKind, "Medical device") == "medical_device"
    assert parse_choice(AssetKind, "端末") == "pc"
    assert parse_choice(Criticality, "その他") == "support"
    assert parse_choice(AssetKind, "toaster") is None
    for yes in ("true", "YES", "1", "はい", "有", "○"):
        assert parse_bool(yes) is True
    for no in ("false", "no", "0", "いいえ", "無", "×", ""):
        assert parse_bool(no) is False
    assert parse_bool("maybe") is None
