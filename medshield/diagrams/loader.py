"""Fill a :class:`Snapshot` from the database: the register now, or as it stood at a past time.

The past is rebuilt from the change history: every :class:`~medshield.core.models.ObjectChange`
keeps the object's raw values after the change (``data``), so the register at time T is, for each
object, the values of its last change at or before T, unless that change deleted it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from medshield.assets.models import Asset, Building, Floor, Rack, Room, Site
from medshield.core.models import ObjectChange
from medshield.diagrams import snapshot as s
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

LEVELS = ("site", "building", "floor", "room", "rack")


def place_key(level: str, pk: int | None) -> int | None:
    """Sites, buildings, floors, rooms and racks share one id space in a snapshot."""
    return None if pk is None else pk * 8 + LEVELS.index(level)


Row = dict[str, Any]


def _place(level: str, parent: str | None, code: str, order: str | None = None) -> Callable:
    def make(pk: int, d: Row) -> s.Place:
        return s.Place(
            id=place_key(level, pk),  # type: ignore[arg-type]
            level=level,
            parent=place_key(LEVELS[LEVELS.index(level) - 1], d[parent]) if parent else None,
            code=str(d.get(code) or ""),
            name=str(d.get("name") or d.get(code) or ""),
            order=int(d[order]) if order and d.get(order) is not None else 0,
        )

    return make


def _asset(pk: int, d: Row) -> s.Asset:
    return s.Asset(
        id=pk,
        tag=d["asset_tag"],
        name=d["name"],
        kind=d["kind"],
        status=d.get("status", ""),
        network_role=d.get("network_role") or "",
        manufacturer=d.get("manufacturer") or "",
        model=d.get("model") or "",
        serial=d.get("serial_number") or "",
        software_version=d.get("software_version") or "",
        hostname=d.get("hostname") or "",
        role=d.get("role") or "",
        is_virtual=bool(d.get("is_virtual")),
        host=d.get("host"),
        room=place_key("room", d.get("room")),
        rack=place_key("rack", d.get("rack")),
        department=d.get("department") or "",
        criticality=d.get("criticality") or "",
    )


#: model → (snapshot mapping name, converter from (pk, raw field values))
SPECS: list[tuple[type[models.Model], str, Callable[[int, Row], Any]]] = [
    (Site, "places", _place("site", None, "code")),
    (Building, "places", _place("building", "site", "code")),
    (Floor, "places", _place("floor", "building", "name", "level")),
    (Room, "places", _place("room", "floor", "code")),
    (Rack, "places", _place("rack", "room", "name")),
    (Asset, "assets", _asset),
    (
        Interface,
        "interfaces",
        lambda pk, d: s.Interface(id=pk, asset=d["asset"], name=d["name"], mac=d.get("mac") or ""),
    ),
    (
        IPAddress,
        "ips",
        lambda pk, d: s.IP(
            id=pk, interface=d["interface"], address=d["address"], subnet=d.get("subnet")
        ),
    ),
    (
        Subnet,
        "subnets",
        lambda pk, d: s.Subnet(
            id=pk,
            prefix=d["prefix"],
            name=d.get("name") or "",
            vlan=d.get("vlan"),
            zone=d.get("zone"),
        ),
    ),
    (VLAN, "vlans", lambda pk, d: s.VLAN(id=pk, vid=d["vid"], name=d.get("name") or "")),
    (Zone, "zones", lambda pk, d: s.Zone(id=pk, name=d["name"])),
    (
        Cable,
        "cables",
        lambda pk, d: s.Cable(
            id=pk, a=d["a_interface"], b=d["b_interface"], label=d.get("label") or ""
        ),
    ),
    (
        ExternalConnection,
        "connections",
        lambda pk, d: s.Connection(
            id=pk,
            name=d["name"],
            kind=d["kind"],
            provider=d.get("provider") or "",
            method=d.get("method") or "",
            peer=d.get("peer") or "",
            through=tuple(d.get("through") or ()),
            reaches=tuple(d.get("reaches") or ()),
        ),
    ),
    (
        Flow,
        "flows",
        lambda pk, d: s.Flow(
            id=pk,
            source=d["source"],
            destination=d["destination"],
            protocol=d["protocol"],
            port=d.get("port"),
            purpose=d.get("purpose") or "",
        ),
    ),
]


def _current_rows(model: type[models.Model]) -> Iterable[tuple[int, Row]]:
    # The logged fields only: converting every row's two timestamps cost more than the rest.
    fields = model.logged_fields()  # type: ignore[attr-defined]
    names = [f.name for f in fields]
    for row in model._default_manager.order_by("pk").values_list(
        "pk", *[f.attname for f in fields]
    ):
        yield row[0], dict(zip(names, row[1:], strict=True))


def load_current() -> s.Snapshot:
    """The register as it stands now."""
    parts: dict[str, dict[int, Any]] = {name: {} for _, name, _ in SPECS}
    for model, name, make in SPECS:
        rows = dict(_current_rows(model))
        if model is ExternalConnection:
            through = ConnectionHop.objects.order_by("connection_id", "position").values_list(
                "connection_id", "asset_id"
            )
            reaches = ExternalConnection.reaches.through.objects.values_list(
                "externalconnection_id", "asset_id"
            )
            for key, pairs in (("through", through), ("reaches", reaches)):
                for cid, aid in pairs:
                    rows[cid].setdefault(key, []).append(aid)
        for pk, row in rows.items():
            record = make(pk, row)
            parts[name][record.id] = record
    return _consistent(s.Snapshot(**parts))


def load_at(when: datetime.datetime) -> s.Snapshot:
    """The register as it stood at ``when``, rebuilt from the change history."""
    parts: dict[str, dict[int, Any]] = {name: {} for _, name, _ in SPECS}
    for model, name, make in SPECS:
        ct = ContentType.objects.get_for_model(model)
        state: dict[int, Row | None] = {}
        history = (
            ObjectChange.objects.filter(object_type=ct, time__lte=when)
            .order_by("object_id", "time", "id")
            .values_list("object_id", "action", "data")
        )
        for pk, action, data in history.iterator(chunk_size=5000):
            if action == "delete" or data is None:
                state[pk] = None
                continue
            previous = state.get(pk) or {}
            # A plain save records no asset lists; they stand until the next recorded change.
            state[pk] = {
                **{k: previous[k] for k in ("through", "reaches") if k in previous},
                **data,
            }
        for pk, row in state.items():
            if row is not None:
                record = make(pk, row)
                parts[name][record.id] = record
    return _consistent(s.Snapshot(**parts))


def _consistent(snap: s.Snapshot) -> s.Snapshot:
    """Connections keep only ends that are assets of the snapshot: deleting an asset removes
    it from a connection's lists without a history row of the connection's own, so a rebuilt
    past would otherwise still name it (and a diff would report a change nobody made)."""
    return replace(
        snap,
        connections={
            k: replace(
                c,
                through=tuple(a for a in c.through if a in snap.assets),
                reaches=tuple(a for a in c.reaches if a in snap.assets),
            )
            for k, c in snap.connections.items()
        },
    )


def last_change() -> datetime.datetime | None:
    """When the register last changed."""
    return ObjectChange.objects.order_by("-time").values_list("time", flat=True).first()
