"""Export the whole register as the document of docs/register-format.md, and write it out.

The export is deterministic: every list is sorted by its key and every object's keys come in the
documented order, so two exports of the same register are byte-identical (the round-trip tests
and the lead's diffs of nightly exports rely on it).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from medshield.assets.models import Asset, Building, Floor, Rack, Room, Site
from medshield.network.models import (
    VLAN,
    Cable,
    ConnectionHop,
    ExternalConnection,
    Flow,
    Interface,
    IPAddress,
    Subnet,
    Zone,
)
from medshield.register.vocabulary import ASSET_COLUMNS, SHEET_COLUMNS, join_values

FORMAT_NAME = "medshield-register"
FORMAT_VERSION = 1

#: the text fields of an asset, in document order (after asset_tag)
ASSET_TEXT_FIELDS: tuple[str, ...] = (
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
)


def ip_sort_key(address: str) -> tuple[int, int]:
    """Sort addresses numerically (10.0.0.9 before 10.0.0.10), IPv4 before IPv6."""
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))


def prefix_sort_key(prefix: str) -> tuple[int, int, int]:
    """Sort prefixes by network address, then from wide to narrow."""
    net = ipaddress.ip_network(prefix, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


def _export_places() -> list[dict[str, Any]]:
    racks: dict[int, list[Rack]] = defaultdict(list)
    for rack in Rack.objects.all():
        racks[rack.room_id].append(rack)
    rooms: dict[int, list[Room]] = defaultdict(list)
    for room in Room.objects.all():
        rooms[room.floor_id].append(room)
    floors: dict[int, list[Floor]] = defaultdict(list)
    for floor in Floor.objects.all():
        floors[floor.building_id].append(floor)
    buildings: dict[int, list[Building]] = defaultdict(list)
    for building in Building.objects.all():
        buildings[building.site_id].append(building)

    return [
        {
            "code": site.code,
            "name": site.name,
            "address": site.address,
            "buildings": [
                {
                    "code": building.code,
                    "name": building.name,
                    "floors": [
                        {
                            "name": floor.name,
                            "level": floor.level,
                            "rooms": [
                                {
                                    "code": room.code,
                                    "name": room.name,
                                    "racks": [
                                        {"name": rack.name, "u_height": rack.u_height}
                                        for rack in sorted(racks[room.pk], key=lambda r: r.name)
                                    ],
                                }
                                for room in sorted(rooms[floor.pk], key=lambda r: r.code)
                            ],
                        }
                        # Floors read best bottom-up; the name breaks ties deterministically.
                        for floor in sorted(floors[building.pk], key=lambda f: (f.level, f.name))
                    ],
                }
                for building in sorted(buildings[site.pk], key=lambda b: b.code)
            ],
        }
        for site in sorted(Site.objects.all(), key=lambda s: s.code)
    ]


def export_document() -> dict[str, Any]:
    """The whole register as one JSON-ready dict, sorted by keys, keys in the documented order."""
    sites = {s.pk: s.code for s in Site.objects.all()}
    places: dict[int, dict[str, Any]] = {}
    for room in Room.objects.select_related("floor__building"):
        building = room.floor.building
        places[room.pk] = {
            "site": sites[building.site_id],
            "building": building.code,
            "floor": room.floor.name,
            "room": room.code,
            "rack": None,
        }
    rack_names = dict(Rack.objects.values_list("pk", "name"))
    zones = {z.pk: z.name for z in Zone.objects.all()}
    vlans = {v.pk: (sites[v.site_id], v.vid) for v in VLAN.objects.all()}

    tags = dict(Asset.objects.values_list("pk", "asset_tag"))
    iface_names: dict[int, tuple[int, str]] = {}
    ifaces_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ips_of: dict[int, list[str]] = defaultdict(list)
    for iface_id, address in IPAddress.objects.values_list("interface_id", "address"):
        ips_of[iface_id].append(address)
    for iface in Interface.objects.values("pk", "asset_id", "name", "mac"):
        iface_names[iface["pk"]] = (iface["asset_id"], iface["name"])
        ifaces_of[iface["asset_id"]].append(
            {
                "name": iface["name"],
                "mac": iface["mac"],
                "ip_addresses": sorted(ips_of[iface["pk"]], key=ip_sort_key),
            }
        )

    assets: list[dict[str, Any]] = []
    for asset in Asset.objects.order_by("asset_tag").iterator(chunk_size=2000):
        place = None
        if asset.room_id is not None:
            place = dict(places[asset.room_id])
            if asset.rack_id is not None:
                place["rack"] = rack_names[asset.rack_id]
        record: dict[str, Any] = {"asset_tag": asset.asset_tag}
        for field in ASSET_TEXT_FIELDS:
            record[field] = getattr(asset, field)
        record.update(
            {
                "handles_patient_data": asset.handles_patient_data,
                "support_contact": asset.support_contact,
                "network_role": asset.network_role,
                "hostname": asset.hostname,
                "role": asset.role,
                "is_virtual": asset.is_virtual,
                "host": tags[asset.host_id] if asset.host_id else None,
                "place": place,
                "interfaces": sorted(ifaces_of[asset.pk], key=lambda i: i["name"]),
                "notes": asset.notes,
            }
        )
        assets.append(record)

    def end(iface_id: int) -> dict[str, str]:
        asset_id, name = iface_names[iface_id]
        return {"asset_tag": tags[asset_id], "interface": name}

    cabling = sorted(
        (
            {
                "a": end(cable.a_interface_id),
                "b": end(cable.b_interface_id),
                "cable_type": cable.cable_type,
                "label": cable.label,
            }
            for cable in Cable.objects.all()
        ),
        key=lambda c: (c["a"]["asset_tag"], c["a"]["interface"]),
    )

    connections = []
    hops = ConnectionHop.objects.select_related("asset").order_by("connection_id", "position")
    path: dict[int, list[str]] = defaultdict(list)
    for hop in hops:
        path[hop.connection_id].append(hop.asset.asset_tag)
    for conn in ExternalConnection.objects.prefetch_related("reaches"):
        connections.append(
            {
                "name": conn.name,
                "kind": conn.kind,
                "provider": conn.provider,
                "method": conn.method,
                "peer": conn.peer,
                "settings": conn.settings,
                "through": path[conn.pk],  # in path order, outside in
                "reaches": sorted(a.asset_tag for a in conn.reaches.all()),
            }
        )
    connections.sort(key=lambda c: c["name"])

    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "places": _export_places(),
        "zones": sorted(
            ({"name": z.name, "description": z.description} for z in Zone.objects.all()),
            key=lambda z: z["name"],
        ),
        "vlans": sorted(
            ({"site": sites[v.site_id], "vid": v.vid, "name": v.name} for v in VLAN.objects.all()),
            key=lambda v: (v["site"], v["vid"]),
        ),
        "subnets": sorted(
            (
                {
                    "prefix": s.prefix,
                    "name": s.name,
                    "site": vlans[s.vlan_id][0] if s.vlan_id else None,
                    "vlan": vlans[s.vlan_id][1] if s.vlan_id else None,
                    "zone": zones[s.zone_id] if s.zone_id else None,
                    "gateway": s.gateway,
                    "description": s.description,
                }
                for s in Subnet.objects.all()
            ),
            key=lambda s: prefix_sort_key(s["prefix"]),
        ),
        "assets": assets,
        "cabling": cabling,
        "external_connections": connections,
        "flows": _export_flows(),
    }


def _export_flows() -> list[dict[str, Any]]:
    tags = dict(Asset.objects.values_list("pk", "asset_tag"))
    flows = [
        {
            "source": tags[f.source_id],
            "destination": tags[f.destination_id],
            "protocol": f.protocol,
            "port": f.port,
            "transport": f.transport,
            "purpose": f.purpose,
        }
        for f in Flow.objects.all()
    ]
    flows.sort(key=lambda f: (f["source"], f["destination"], f["protocol"], f["port"] or 0))
    return flows


# --- writers ---------------------------------------------------------------------------------


def write_json(document: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON: readable Japanese, two-space indent, trailing newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def asset_rows(document: dict[str, Any]) -> list[list[Any]]:
    """The assets sheet: one row per interface (one row for an asset without interfaces)."""
    cable_of: dict[tuple[str, str], dict[str, Any]] = {}
    for cable in document.get("cabling", []):
        cable_of[(cable["a"]["asset_tag"], cable["a"]["interface"])] = cable
    rows: list[list[Any]] = []
    for asset in document.get("assets", []):
        place = asset.get("place") or {}
        base = {
            **{k: asset.get(k) for k in ASSET_COLUMNS if k in asset},
            **{k: place.get(k) for k in ("site", "building", "floor", "room", "rack")},
        }
        interfaces = asset.get("interfaces") or [None]
        for iface in interfaces:
            row = dict(base)
            if iface is not None:
                row["interface"] = iface["name"]
                row["mac"] = iface["mac"]
                row["ip_addresses"] = join_values(iface["ip_addresses"])
                cable = cable_of.get((asset["asset_tag"], iface["name"]))
                if cable is not None:
                    row["switch"] = cable["b"]["asset_tag"]
                    row["switch_port"] = cable["b"]["interface"]
                    row["cable_type"] = cable["cable_type"]
                    row["cable_label"] = cable["label"]
            rows.append([_cell(row.get(column)) for column in ASSET_COLUMNS])
    return rows


def sheet_rows(document: dict[str, Any], sheet: str) -> list[list[Any]]:
    """Rows of one of the further XLSX sheets (places, zones, ...), without the header."""
    rows: list[list[Any]] = []
    if sheet == "places":
        # One row per most specific place: a rack, else a room, else a floor... Parent columns
        # repeat so the sheet sorts and filters well in Excel.
        for site in document["places"]:
            s = [site["code"], site["name"], site["address"]]
            if not site["buildings"]:
                rows.append(s + [""] * 8)
            for building in site["buildings"]:
                b = s + [building["code"], building["name"]]
                if not building["floors"]:
                    rows.append(b + [""] * 6)
                for floor in building["floors"]:
                    f = b + [floor["name"], floor["level"]]
                    if not floor["rooms"]:
                        rows.append(f + [""] * 4)
                    for room in floor["rooms"]:
                        r = f + [room["code"], room["name"]]
                        if not room["racks"]:
                            rows.append(r + ["", ""])
                        for rack in room["racks"]:
                            rows.append(r + [rack["name"], rack["u_height"]])
    elif sheet == "cabling":
        for cable in document["cabling"]:
            rows.append(
                [
                    cable["a"]["asset_tag"],
                    cable["a"]["interface"],
                    cable["b"]["asset_tag"],
                    cable["b"]["interface"],
                    cable["cable_type"],
                    cable["label"],
                ]
            )
    elif sheet == "external_connections":
        for conn in document["external_connections"]:
            row = [_cell(conn[c]) for c in SHEET_COLUMNS[sheet][:6]]
            rows.append(row + [join_values(conn["through"]), join_values(conn["reaches"])])
    else:
        for record in document[sheet]:
            rows.append([_cell(record[c]) for c in SHEET_COLUMNS[sheet]])
    return rows


#: a cell starting with one of these is a formula to Excel and LibreOffice ("CSV injection"):
#: a name like =HYPERLINK(...) typed into the register must stay text in every export
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run gets a leading apostrophe, as
    Excel itself writes it; text that starts with an apostrophe gets one more, so that
    :func:`medshield.register.readers.csv_text` gives back exactly the original."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, "'")):
        return "'" + value
    return value


def write_csv(document: dict[str, Any]) -> bytes:
    """The assets sheet as UTF-8 CSV with a BOM, which Excel needs to read Japanese correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ASSET_COLUMNS)
    writer.writerows([csv_cell(v) for v in row] for row in asset_rows(document))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_row(sheet: Any, row: list[Any]) -> list[Any]:
    """Cells whose text stays text: openpyxl would store "=..." as a formula (and a reader with
    data_only=True would read it back empty), and it refuses control characters outright."""
    cells: list[Any] = []
    for value in row:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
            if value.startswith(FORMULA_START):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cell.quotePrefix = True
                value = cell
        cells.append(value)
    return cells


def write_xlsx(document: dict[str, Any]) -> bytes:
    """The whole register as a workbook: the assets sheet and one sheet per further list."""
    # write_only streams rows to the zip instead of building a cell tree: 100,000 assets fit.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("assets")
    sheet.append(list(ASSET_COLUMNS))
    for row in asset_rows(document):
        sheet.append(_xlsx_row(sheet, row))
    for name, columns in SHEET_COLUMNS.items():
        sheet = workbook.create_sheet(name)
        sheet.append(list(columns))
        for row in sheet_rows(document, name):
            sheet.append(_xlsx_row(sheet, row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


WRITERS = {"json": write_json, "csv": write_csv, "xlsx": write_xlsx}

CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_bytes(fmt: str) -> bytes:
    """Export the register and write it as ``json``, ``csv`` or ``xlsx``."""
    return WRITERS[fmt](consistent_export())


def consistent_export() -> dict[str, Any]:
    """:func:`export_document` from one snapshot of the database: an import committing while
    its fifteen queries run must not leave a half-old, half-new (or failing) export."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # Only the first statement of a transaction may set its isolation level; inside an
            # outer transaction the caller has chosen already.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # SQLite: a read transaction already sees one snapshot (WAL).
        return export_document()
