"""What changed between two snapshots of the register, as a list and as marks on a diagram.

A removed asset takes its interfaces, addresses and cables with it: those follow from the asset's
removal and are drawn, but not listed again, so the list names exactly the changes someone made.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from medshield.diagrams.snapshot import Asset, Snapshot

#: the asset fields a change of which is worth naming, with how to show them
ASSET_FIELDS = (
    "name",
    "kind",
    "status",
    "network_role",
    "manufacturer",
    "model",
    "serial",
    "software_version",
    "hostname",
    "role",
    "is_virtual",
    "host",
    "room",
    "rack",
    "department",
    "criticality",
)
#: which changes each diagram shows
RELEVANT = {
    "network": {"asset", "subnet", "connection"},
    "physical": {"asset", "cable"},
    "server": {"asset"},
    "system": {"asset", "flow"},
}


@dataclass(frozen=True)
class Change:
    action: str  # added | removed | changed
    kind: str  # asset | cable | subnet | connection | flow
    key: str  # the diagram node or edge it marks
    label: str
    details: tuple[str, ...] = ()
    asset_kind: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "kind": self.kind,
            "object": self.label,
            "details": list(self.details),
        }


def _place(snap: Snapshot, place_id: int | None) -> str:
    return (
        " › ".join(
            p.name if p.level != "room" else f"{p.code} {p.name}"
            for p in snap.place_path(place_id)[1:]
        )
        or "—"
    )


def _asset_value(snap: Snapshot, asset: Asset, name: str, redact: bool) -> str:
    value = getattr(asset, name)
    if name in {"room", "rack"}:
        return _place(snap, value)
    if name == "host":
        host = snap.assets.get(value) if value else None
        return host.tag if host else "—"
    if redact and name in {"serial", "hostname"}:
        return "•••"
    return "—" if value in ("", None) else str(value)


def _cable_label(snap: Snapshot, cable_id: int) -> str:
    cable = snap.cables[cable_id]
    parts = []
    for iface_id in (cable.a, cable.b):
        iface = snap.interfaces.get(iface_id)
        asset = snap.assets.get(iface.asset) if iface else None
        parts.append(f"{asset.tag if asset else '?'}:{iface.name if iface else '?'}")
    return " ↔ ".join(parts)


def _tags(snap: Snapshot, ids: tuple[int, ...], ordered: bool = False) -> str:
    tags = [snap.assets[i].tag for i in ids if i in snap.assets]
    return (" → " if ordered else ", ").join(tags if ordered else sorted(tags)) or "—"


def diff(
    old: Snapshot, new: Snapshot, *, kind: str | None = None, redact: bool = False
) -> list[Change]:
    """Every change from ``old`` to ``new``; with ``kind``, only those that diagram shows."""
    out: list[Change] = []
    old_addr, new_addr = old.asset_addresses(), new.asset_addresses()
    for aid in sorted(old.assets.keys() | new.assets.keys()):
        a, b = old.assets.get(aid), new.assets.get(aid)
        if a is None and b is not None:
            out.append(Change("added", "asset", f"a{aid}", f"{b.name} ({b.tag})", (), b.kind))
        elif b is None and a is not None:
            out.append(Change("removed", "asset", f"a{aid}", f"{a.name} ({a.tag})", (), a.kind))
        elif a is not None and b is not None:
            details = []
            for name in ASSET_FIELDS:
                before = _asset_value(old, a, name, redact)
                after = _asset_value(new, b, name, redact)
                if before != after:
                    details.append(f"{name}: {before} → {after}")
            if sorted(old_addr.get(aid, [])) != sorted(new_addr.get(aid, [])):
                details.append(
                    "ip_addresses: "
                    + (
                        "•••"
                        if redact
                        else f"{', '.join(old_addr.get(aid, [])) or '—'} → "
                        f"{', '.join(new_addr.get(aid, [])) or '—'}"
                    )
                )
            if details:
                out.append(
                    Change(
                        "changed", "asset", f"a{aid}", f"{b.name} ({b.tag})", tuple(details), b.kind
                    )
                )
    gone_assets = old.assets.keys() - new.assets.keys()
    for cid in sorted(old.cables.keys() | new.cables.keys()):
        a, b = old.cables.get(cid), new.cables.get(cid)
        if a is None:
            out.append(Change("added", "cable", f"cable{cid}", _cable_label(new, cid)))
        elif b is None:
            ends = {old.interfaces[i].asset for i in (a.a, a.b) if i in old.interfaces}
            if not ends & gone_assets:  # a cable that left with its asset is not a change
                out.append(Change("removed", "cable", f"cable{cid}", _cable_label(old, cid)))
        elif (a.a, a.b) != (b.a, b.b):
            out.append(
                Change(
                    "changed",
                    "cable",
                    f"cable{cid}",
                    _cable_label(new, cid),
                    (f"{_cable_label(old, cid)} → {_cable_label(new, cid)}",),
                )
            )
    for sid in sorted(old.subnets.keys() | new.subnets.keys()):
        a, b = old.subnets.get(sid), new.subnets.get(sid)
        name = (b or a).name or ("" if redact else (b or a).prefix)  # type: ignore[union-attr]
        if a is None or b is None:
            out.append(Change("added" if a is None else "removed", "subnet", f"sum{sid}", name))
        elif a != b:
            details = tuple(
                f"{f.name}: {getattr(a, f.name)} → {getattr(b, f.name)}"
                for f in fields(a)
                if getattr(a, f.name) != getattr(b, f.name) and not (redact and f.name == "prefix")
            )
            out.append(Change("changed", "subnet", f"sum{sid}", name, details))
    for cid in sorted(old.connections.keys() | new.connections.keys()):
        a, b = old.connections.get(cid), new.connections.get(cid)
        if a is None or b is None:
            out.append(
                Change("added" if a is None else "removed", "connection", f"c{cid}", (b or a).name)
            )  # type: ignore[union-attr]
            continue
        details = []
        for f in ("name", "kind", "provider", "method"):
            if getattr(a, f) != getattr(b, f):
                details.append(f"{f}: {getattr(a, f)} → {getattr(b, f)}")
        if a.peer != b.peer:
            details.append("peer: •••" if redact else f"peer: {a.peer} → {b.peer}")
        for f in ("through", "reaches"):
            # The path's order matters; what a connection reaches is a set.
            same = a.through == b.through if f == "through" else set(a.reaches) == set(b.reaches)
            if not same:
                ordered = f == "through"
                was = _tags(old, getattr(a, f), ordered)
                now = _tags(new, getattr(b, f), ordered)
                # A path reads "A → B"; its old and new values are set apart by "⇒".
                details.append(f"{f}: {was} {'⇒' if ordered else '→'} {now}")
        if details:
            out.append(Change("changed", "connection", f"c{cid}", b.name, tuple(details)))
    for fid in sorted(old.flows.keys() | new.flows.keys()):
        a, b = old.flows.get(fid), new.flows.get(fid)
        snap, flow = (new, b) if b is not None else (old, a)
        assert flow is not None
        src, dst = snap.assets.get(flow.source), snap.assets.get(flow.destination)
        label = f"{src.tag if src else '?'} → {dst.tag if dst else '?'} {flow.protocol}" + (
            f" {flow.port}" if flow.port else ""
        )
        if a is None or b is None:
            if b is None and {flow.source, flow.destination} & gone_assets:
                continue
            out.append(Change("added" if a is None else "removed", "flow", f"flow{fid}", label))
        elif a != b:
            details = tuple(
                f"{f.name}: {getattr(a, f.name)} → {getattr(b, f.name)}"
                for f in fields(a)
                if getattr(a, f.name) != getattr(b, f.name)
            )
            out.append(Change("changed", "flow", f"flow{fid}", label, details))
    if kind is not None:
        wanted = RELEVANT[kind]
        out = [
            c
            for c in out
            if c.kind in wanted and not (kind == "server" and c.asset_kind != "server")
        ]
    return out


def merged(old: Snapshot, new: Snapshot) -> Snapshot:
    """``new`` plus what ``old`` had and ``new`` lost, so a diagram can draw removals in red."""

    def union(a: dict, b: dict) -> dict:  # type: ignore[type-arg]
        return {**a, **b}

    return replace(
        new,
        places=union(old.places, new.places),
        assets=union(old.assets, new.assets),
        interfaces=union(old.interfaces, new.interfaces),
        ips={**{k: v for k, v in old.ips.items() if v.interface not in new.interfaces}, **new.ips},
        subnets=union(old.subnets, new.subnets),
        vlans=union(old.vlans, new.vlans),
        zones=union(old.zones, new.zones),
        cables=union(old.cables, new.cables),
        connections=union(old.connections, new.connections),
        flows=union(old.flows, new.flows),
    )


def marks(changes: list[Change], old: Snapshot, new: Snapshot) -> dict[str, str]:
    """Diagram node/edge key → added | changed | removed, including the implied removals."""
    out = {c.key: c.action for c in changes}
    for cid in old.cables.keys() - new.cables.keys():
        out.setdefault(f"cable{cid}", "removed")
    for fid in old.flows.keys() - new.flows.keys():
        out.setdefault(f"flow{fid}", "removed")
    return out
