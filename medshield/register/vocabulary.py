"""The words a register file may use: column headers, choice values and booleans.

Hospitals keep their device lists in Excel with Japanese headers and Japanese values, so the
importer accepts, besides the stored codes of docs/register-format.md, the common Japanese (and
English) spellings. Everything is compared after :func:`normalise_key`: NFKC (full-width letters
and digits become ASCII), lower case, no spaces, underscores or hyphens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.db import models
from django.utils import translation

from medshield.assets.choices import AssetKind, AssetStatus, Criticality, NetworkRole
from medshield.network.choices import CableType, ConnectionKind, ConnectionMethod

#: columns of the assets sheet (and of a CSV file), in the order docs/register-format.md fixes
ASSET_COLUMNS: tuple[str, ...] = (
    "asset_tag",
    "name",
    "kind",
    "status",
    "manufacturer",
    "model",
    "serial_number",
    "software_version",
    "department",
    "owner",
    "criticality",
    "handles_patient_data",
    "support_contact",
    "network_role",
    "hostname",
    "role",
    "is_virtual",
    "host",
    "site",
    "building",
    "floor",
    "room",
    "rack",
    "interface",
    "mac",
    "ip_addresses",
    "switch",
    "switch_port",
    "cable_type",
    "cable_label",
    "notes",
)

#: the pseudo-field of a column holding a whole place ("A/3F/301")
PLACE = "place"

#: the place parts an assets sheet may carry in separate columns
PLACE_COLUMNS: tuple[str, ...] = ("site", "building", "floor", "room", "rack")

#: the further sheets of an XLSX export, each with its columns
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {
    "places": (
        "site",
        "site_name",
        "site_address",
        "building",
        "building_name",
        "floor",
        "floor_level",
        "room",
        "room_name",
        "rack",
        "rack_u_height",
    ),
    "zones": ("name", "description"),
    "vlans": ("site", "vid", "name"),
    "subnets": ("prefix", "name", "site", "vlan", "zone", "gateway", "description"),
    "cabling": ("a_asset_tag", "a_interface", "b_asset_tag", "b_interface", "cable_type", "label"),
    "external_connections": (
        "name",
        "kind",
        "provider",
        "method",
        "peer",
        "settings",
        "through",
        "reaches",
    ),
    "flows": ("source", "destination", "protocol", "port", "transport", "purpose"),
}

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "asset_tag": ("資産番号", "管理番号", "資産タグ", "asset tag", "tag"),
    "name": ("機器名", "名称", "機器名称", "device name"),
    "kind": ("種別", "区分", "type"),
    "status": ("状態", "ステータス"),
    "manufacturer": ("メーカー", "製造元", "製造販売業者", "vendor", "maker"),
    "model": ("型番", "機種", "モデル", "型式"),
    "serial_number": ("シリアル番号", "製造番号", "S/N", "serial", "SN"),
    "software_version": (
        "バージョン",
        "ソフトウェアバージョン",
        "ファームウェア",
        "ファームウェアバージョン",
        "version",
        "firmware",
    ),
    "department": ("診療科", "部署", "部門", "設置部署"),
    "owner": ("管理者", "責任者", "管理部署"),
    "criticality": ("重要度", "臨床重要度"),
    "handles_patient_data": ("患者データ", "患者情報", "患者データ有無", "patient data"),
    "support_contact": ("保守連絡先", "サポート窓口", "保守窓口"),
    "network_role": ("ネットワーク種別", "ネットワーク機器種別"),
    "hostname": ("ホスト名",),
    "role": ("役割", "用途"),
    "is_virtual": ("仮想", "仮想サーバ", "virtual"),
    "host": ("ホスト", "仮想ホスト", "物理ホスト"),
    "site": ("サイト", "施設"),
    "building": ("棟", "建物"),
    "floor": ("階", "フロア"),
    "room": ("部屋", "室", "部屋番号", "室番号"),
    "rack": ("ラック",),
    PLACE: ("設置場所", "場所", "location"),
    "interface": ("インターフェース", "インタフェース", "IF", "I/F", "NIC"),
    "mac": ("MACアドレス", "MAC", "mac address"),
    "ip_addresses": ("IPアドレス", "IP", "ip address", "ip_address"),
    "switch": ("スイッチ", "接続先スイッチ", "接続先"),
    "switch_port": ("ポート", "スイッチポート", "接続先ポート", "port"),
    "cable_type": ("ケーブル種別",),
    "cable_label": ("ケーブルラベル", "ケーブル番号"),
    "notes": ("備考", "メモ", "comment", "comments"),
}


def normalise_key(value: str) -> str:
    """The comparable form of a header or a choice value: NFKC, lower case, no separators."""
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", value).lower())


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for field in ASSET_COLUMNS:
        index[normalise_key(field)] = field
    for field, aliases in _HEADER_ALIASES.items():
        index[normalise_key(field)] = field
        for alias in aliases:
            index[normalise_key(alias)] = field
    return index


_HEADER_INDEX = _build_header_index()

#: the fields a column of the assets sheet may be mapped to (for the web preview's select)
MAPPABLE_FIELDS: tuple[str, ...] = (*ASSET_COLUMNS, PLACE)


def field_for_header(header: str) -> str | None:
    """The assets-sheet field a header names (``"IPアドレス"`` → ``"ip_addresses"``), or None."""
    return _HEADER_INDEX.get(normalise_key(header))


def field_for_sheet_header(sheet: str, header: str) -> str | None:
    """The field of one of the further XLSX sheets a header names, or None."""
    key = normalise_key(header)
    for column in SHEET_COLUMNS.get(sheet, ()):
        if normalise_key(column) == key:
            return column
    return None


# --- choice values ---------------------------------------------------------------------------

_CHOICE_ALIASES: dict[type[models.TextChoices], dict[str, tuple[str, ...]]] = {
    AssetKind: {
        "medical_device": ("医療機器", "ME機器", "ME"),
        "medical_system": ("医療情報システム", "医療システム", "部門システム"),
        "server": ("サーバ", "サーバー"),
        "network_device": ("ネットワーク機器", "NW機器", "ネットワーク"),
        "pc": ("端末", "PC", "パソコン", "クライアント"),
        "other": ("その他",),
    },
    AssetStatus: {
        "in_service": ("稼働中", "稼働", "使用中", "運用中"),
        "planned": ("計画中", "予定", "導入予定"),
        "stored": ("保管", "保管中", "在庫", "予備"),
        "decommissioned": ("廃棄", "廃止", "撤去", "廃棄済"),
    },
    Criticality: {
        "life_sustaining": ("生命維持", "生命維持管理装置"),
        "treatment": ("治療",),
        "diagnostic": ("診断",),
        "support": ("支援", "その他"),
    },
    NetworkRole: {
        "switch": ("スイッチ", "L2スイッチ", "L3スイッチ"),
        "router": ("ルータ", "ルーター"),
        "firewall": ("ファイアウォール", "FW", "UTM"),
        "wireless_ap": ("無線AP", "無線アクセスポイント", "アクセスポイント", "AP"),
        "wireless_controller": ("無線LANコントローラ", "無線コントローラ", "WLC"),
        "vpn_gateway": ("VPN装置", "VPNゲートウェイ", "VPNルータ"),
    },
    CableType: {
        "copper": ("UTP", "LAN", "メタル", "銅線"),
        "fiber": ("光", "光ファイバ", "光ファイバー", "fibre"),
        "dac": ("DAC",),
        "virtual": ("仮想",),
    },
    ConnectionKind: {
        "internet": ("インターネット",),
        "remote_maintenance": ("リモート保守", "リモートメンテナンス", "遠隔保守"),
        "site_to_site": ("拠点間VPN", "拠点間接続"),
        "closed_network": ("閉域網", "閉域", "専用線"),
    },
    ConnectionMethod: {
        "ipsec_vpn": ("IPsec", "IPsec-VPN"),
        "ssl_vpn": ("SSL-VPN", "SSLVPN"),
        "leased_line": ("専用線",),
        "broadband": ("ブロードバンド", "光回線", "FTTH"),
        "mobile": ("モバイル", "LTE", "5G", "携帯回線"),
        "cloud_relay": ("クラウド中継", "クラウドリレー"),
        "other": ("その他",),
    },
}

_choice_cache: dict[type[models.TextChoices], dict[str, str]] = {}


def _choice_index(choices: type[models.TextChoices]) -> dict[str, str]:
    index = _choice_cache.get(choices)
    if index is None:
        index = {}
        # Labels in both shipped languages, whatever language the request or command runs in.
        for language in ("en", "ja"):
            with translation.override(language):
                for value, label in choices.choices:
                    index.setdefault(normalise_key(str(label)), value)
        for value, aliases in _CHOICE_ALIASES.get(choices, {}).items():
            for alias in aliases:
                index[normalise_key(alias)] = value
        # The stored code always wins over a label that happens to spell another code.
        for value in choices.values:
            index[normalise_key(value)] = value
        _choice_cache[choices] = index
    return index


def parse_choice(choices: type[models.TextChoices], raw: str) -> str | None:
    """The stored code ``raw`` names (code, English or Japanese label), or None when unknown."""
    return _choice_index(choices).get(normalise_key(raw))


_TRUE = {"true", "yes", "y", "1", "t", "はい", "有", "有り", "あり", "○", "◯", "〇", "on"}
_FALSE = {"false", "no", "n", "0", "f", "いいえ", "無", "無し", "なし", "×", "x", "-", "off", ""}


def parse_bool(raw: object) -> bool | None:
    """True/False from a JSON boolean or a spreadsheet cell; None when it is not a boolean."""
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    if isinstance(raw, int):
        return {1: True, 0: False}.get(raw)
    if not isinstance(raw, str):
        return None
    key = normalise_key(raw)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def split_list(raw: str) -> list[str]:
    """Split a cell holding several values (IP addresses, asset tags) on ; , 、 and whitespace."""
    return [part for part in re.split(r"[;,、，；\s]+", raw.strip()) if part]


_PLACE_SEPARATORS = re.compile(r"\s*[/／>＞]\s*")


def split_place(raw: str) -> list[str]:
    """``"本館 / 3F / 301"`` → ``["本館", "3F", "301"]`` (separators / ／ > ＞)."""
    return [part.strip() for part in _PLACE_SEPARATORS.split(raw.strip())]


def join_values(values: Iterable[str]) -> str:
    """The cell form of a list: joined with ``;`` as the exports write it."""
    return ";".join(values)
