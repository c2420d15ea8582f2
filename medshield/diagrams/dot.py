"""Turn a :class:`~medshield.diagrams.snapshot.Snapshot` into Graphviz DOT text.

Four diagrams (MHLW guide 4.1 ②): the network (zones and subnets as nested boxes, routers and
firewalls between them, every external connection with its path), the physical placement
(building > floor > room > rack, cabling with port names), the servers (physical hosts with their
virtual servers) and the system functions (data flows between medical systems and devices).

Graphviz's ``dot`` grows much faster than linearly with nodes and clusters (about 9 s for a
5,000-node hospital here), so large views are drawn *collapsed*: the endpoints of a subnet become
one node carrying their count, which links to the same diagram with that subnet expanded.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from medshield.diagrams.snapshot import Asset, Snapshot

FONT = "Noto Sans CJK JP"
#: above this many endpoints the network diagram collapses large subnets unless told otherwise
COLLAPSE_ABOVE = 150
#: ...and a subnet is large when it holds more endpoints than this
SMALL_SUBNET = 8

KIND_FILL = {
    "medical_device": "#fde2e4",
    "medical_system": "#dbeafe",
    "server": "#dcfce7",
    "network_device": "#fef3c7",
    "pc": "#ede9fe",
    "other": "#f1f5f9",
}
MARK_STYLE = {
    "added": {"fillcolor": "#bbf7d0", "color": "#15803d", "penwidth": "2.5"},
    "changed": {"fillcolor": "#fed7aa", "color": "#c2410c", "penwidth": "2.5"},
    "removed": {"fillcolor": "#fecaca", "color": "#b91c1c", "penwidth": "2.5", "style": "dashed"},
}


def quote_id(value: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, newlines as DOT line breaks.

    Names come from spreadsheets and vendors' files: nothing in them may end the string or
    inject attributes.
    """
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r", "").replace("\n", "\\n")
    return f'"{text}"'


@dataclass
class Options:
    redact: bool = False
    collapse: bool | None = None  # None: decide by size
    expand: frozenset[int] = frozenset()  # subnets drawn in full although collapsed
    asset_url: str = "/assets/{tag}/"
    expand_url: str = "?expand={subnet}"
    marks: dict[str, str] = field(default_factory=dict)  # node key → added|changed|removed
    title: str = ""
    #: display names of kinds, methods and fixed words; the Django side passes translated ones
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, key: str) -> str:
        return self.labels.get(key) or DEFAULT_LABELS.get(key, key)


class DotWriter:
    """Accumulates DOT statements; clusters nest with ``with writer.cluster(...)``."""

    def __init__(self, name: str, *, rankdir: str = "TB", title: str = "") -> None:
        self.lines: list[str] = [f"digraph {quote_id(name)} {{"]
        graph = {
            "rankdir": rankdir,
            "compound": "true",
            "fontname": FONT,
            "fontsize": "12",
            "nodesep": "0.25",
            "ranksep": "0.5",
            "newrank": "true",
            "bgcolor": "white",
            "pad": "0.3",
        }
        if title:
            graph.update(label=title, labelloc="t", fontsize="18")
        self.lines.append(f"  graph [{self._attrs(graph)}];")
        self.lines.append(
            f"  node [{self._attrs({'shape': 'box', 'style': 'rounded,filled', 'fontname': FONT, 'fontsize': '9', 'fillcolor': 'white', 'margin': '0.08,0.04'})}];"  # noqa: E501
        )
        self.lines.append(
            f"  edge [{self._attrs({'fontname': FONT, 'fontsize': '8', 'color': '#475569', 'arrowsize': '0.6'})}];"  # noqa: E501
        )
        self.depth = 1
        self.nodes: set[str] = set()

    @staticmethod
    def _attrs(attrs: dict[str, str]) -> str:
        return ", ".join(f"{k}={quote_id(str(v))}" for k, v in attrs.items() if v is not None)

    def node(self, key: str, label: str, **attrs: str) -> None:
        self.nodes.add(key)
        self.lines.append(
            "  " * self.depth
            + f"{quote_id(key)} [label={quote_id(label)}"
            + (f", {self._attrs(attrs)}" if attrs else "")
            + "];"
        )

    def edge(self, a: str, b: str, **attrs: str) -> None:
        self.lines.append(
            "  " * self.depth
            + f"{quote_id(a)} -> {quote_id(b)}"
            + (f" [{self._attrs(attrs)}]" if attrs else "")
            + ";"
        )

    @contextlib.contextmanager
    def cluster(self, key: str, label: str, **attrs: str) -> Iterator[None]:
        self.lines.append("  " * self.depth + f"subgraph {quote_id('cluster_' + key)} {{")
        self.depth += 1
        base = {
            "label": label,
            "style": "rounded,filled",
            "fillcolor": "#f8fafc",
            "color": "#94a3b8",
            "fontsize": "11",
            "labeljust": "l",
        }
        base.update(attrs)
        self.lines.append("  " * self.depth + f"graph [{self._attrs(base)}];")
        yield
        self.depth -= 1
        self.lines.append("  " * self.depth + "}")

    def text(self) -> str:
        return "\n".join([*self.lines, "}"]) + "\n"


def grid(w: DotWriter, keys: list[str], run: int) -> None:
    """Chain nodes with invisible edges in runs of ``run``, so a group is drawn as a block
    (rows in a left-to-right diagram, columns in a top-down one) rather than one long line."""
    for i in range(1, len(keys)):
        if i % run:
            w.edge(keys[i - 1], keys[i], style="invis")


def run_length(n: int, factor: float) -> int:
    """How many nodes a run holds so that a block of ``n`` comes out roughly square."""
    return max(1, math.ceil(math.sqrt(n * factor)))


# --- labels ----------------------------------------------------------------------------------


def asset_key(asset_id: int) -> str:
    return f"a{asset_id}"


def asset_label(asset: Asset, addresses: list[str], opts: Options) -> str:
    lines = [asset.name, asset.tag]
    if asset.model:
        lines.append(f"{asset.manufacturer} {asset.model}".strip())
    if not opts.redact:
        if asset.hostname:
            lines.append(asset.hostname)
        lines.extend(addresses[:2])
    return "\n".join(lines)


def asset_attrs(asset: Asset, opts: Options, key: str | None = None) -> dict[str, str]:
    attrs = {
        "fillcolor": KIND_FILL.get(asset.kind, "white"),
        "URL": opts.asset_url.format(tag=quote(asset.tag, safe="")),
        "target": "_top",
        "id": key or asset_key(asset.id),
    }
    if asset.criticality == "life_sustaining":
        attrs.update(color="#b91c1c", penwidth="1.8")
    if asset.kind == "network_device":
        attrs["shape"] = {"firewall": "box3d", "router": "octagon", "vpn_gateway": "hexagon"}.get(
            asset.network_role, "box"
        )
        if attrs["shape"] != "box":
            attrs["style"] = "filled"
    if asset.is_virtual:
        attrs["style"] = "rounded,filled,dashed"
    mark = opts.marks.get(key or asset_key(asset.id))
    if mark:
        attrs.update(MARK_STYLE[mark])
    return attrs


def _order(snap: Snapshot) -> dict[int, tuple[str, str]]:
    """A stable sort key per asset, so the same register always gives the same DOT text."""
    return {a.id: (a.tag, a.name) for a in snap.assets.values()}


# --- network ---------------------------------------------------------------------------------


def network(snap: Snapshot, opts: Options | None = None) -> str:
    """Zones > subnets as nested boxes; routers, firewalls and VPN gateways between them."""
    opts = opts or Options()
    w = DotWriter("network", rankdir="LR", title=opts.title)
    subnets_of = snap.asset_subnets()
    addresses = snap.asset_addresses()
    infra = sorted((a for a in snap.assets.values() if a.is_infrastructure), key=lambda a: a.tag)
    infra_ids = {a.id for a in infra}

    def subnet_order(sid: int) -> tuple[int, ...]:
        net = snap.subnets[sid].prefix.split("/")[0]
        return tuple(
            int(p, 16) if ":" in net else int(p) for p in net.replace(":", ".").split(".") if p
        )

    members: dict[int | None, list[Asset]] = defaultdict(list)
    for asset in sorted(snap.assets.values(), key=lambda a: a.tag):
        if asset.id in infra_ids:
            continue
        nets = sorted(subnets_of.get(asset.id, ()), key=subnet_order)
        members[nets[0] if nets else None].append(asset)
    endpoints = sum(len(v) for v in members.values())
    if opts.collapse is None:
        # Large pools (PCs, pumps, monitors) become counts; small subnets (servers, DMZ) stay
        # drawn device by device, so the default view is an overview that still names the
        # important machines.
        big = endpoints > COLLAPSE_ABOVE

        def collapsed(sid: int | None) -> bool:
            return big and len(members.get(sid, ())) > SMALL_SUBNET and sid not in opts.expand
    else:

        def collapsed(sid: int | None) -> bool:
            return bool(opts.collapse) and sid not in opts.expand

    zones: dict[int | None, list[int]] = defaultdict(list)
    for sid in sorted(snap.subnets, key=subnet_order):
        if members.get(sid) or any(sid in subnets_of.get(a.id, ()) for a in infra):
            zones[snap.subnets[sid].zone].append(sid)
    # Where an edge into a subnet lands: its anchor (expanded) or its summary node (collapsed).
    landing: dict[int, str] = {}
    for zid in sorted(zones, key=lambda z: (z is None, snap.zones[z].name if z else "")):
        zone_label = snap.zones[zid].name if zid is not None else "—"
        with w.cluster(
            f"zone{zid}", zone_label, fillcolor="#eef2ff", color="#6366f1", fontsize="13"
        ):
            for sid in zones[zid]:
                subnet = snap.subnets[sid]
                vlan = snap.vlans.get(subnet.vlan) if subnet.vlan else None
                parts = [] if opts.redact else [subnet.prefix]
                if vlan is not None:
                    parts.append(f"VLAN {vlan.vid}")
                if subnet.name:
                    parts.append(subnet.name)
                with w.cluster(f"subnet{sid}", " · ".join(parts), fillcolor="#ffffff"):
                    group = members.get(sid, [])
                    if collapsed(sid) and group:
                        counts = Counter(a.kind for a in group)
                        detail = ", ".join(f"{opts.label(k)} {n}" for k, n in counts.most_common())
                        models = Counter(
                            f"{a.manufacturer} {a.model}".strip() or a.name for a in group
                        ).most_common()
                        shown = [f"{m} ×{n}" for m, n in models[:4]]
                        if len(models) > 4:
                            shown.append("…")
                        detail = "\n".join([detail, *shown])
                        key = f"sum{sid}"
                        attrs = {
                            "shape": "folder",
                            "fillcolor": "#e2e8f0",
                            "URL": opts.expand_url.format(subnet=sid),
                            "target": "_top",
                            "id": key,
                            "tooltip": detail,
                        }
                        mark = opts.marks.get(key)
                        if mark:
                            attrs.update(MARK_STYLE[mark])
                        w.node(key, f"{len(group)} {opts.label('endpoints')}\n{detail}", **attrs)
                        landing[sid] = key
                        for a in group:
                            landing.setdefault(-a.id, key)  # asset → its summary node
                    else:
                        anchor = f"sn{sid}"
                        w.node(anchor, "", shape="point", style="invis", width="0.01")
                        landing[sid] = anchor
                        for a in group:
                            landing.setdefault(-a.id, anchor)
                        for a in group:
                            w.node(
                                asset_key(a.id),
                                asset_label(a, addresses.get(a.id, []), opts),
                                **asset_attrs(a, opts),
                            )
                        grid(w, [asset_key(a.id) for a in group], run_length(len(group), 0.4))
                        if not group:
                            w.node(f"empty{sid}", "—", shape="plaintext", style="")
    if members.get(None):
        group = members[None]
        with w.cluster(
            "nosubnet", opts.label("no_address"), fillcolor="#fafafa", style="rounded,dashed"
        ):
            if collapsed(None):
                w.node(
                    "sumNone",
                    f"{len(group)} {opts.label('endpoints')}",
                    shape="folder",
                    fillcolor="#e2e8f0",
                )
                for a in group:
                    landing.setdefault(-a.id, "sumNone")
            else:
                for a in group:
                    w.node(
                        asset_key(a.id),
                        asset_label(a, addresses.get(a.id, []), opts),
                        **asset_attrs(a, opts),
                    )

    ip_in: dict[tuple[int, int], str] = {}
    for ip in snap.ips.values():
        iface = snap.interfaces.get(ip.interface)
        if iface is not None and ip.subnet is not None:
            ip_in.setdefault((iface.asset, ip.subnet), ip.address)
    for a in infra:
        w.node(asset_key(a.id), asset_label(a, [], opts), **asset_attrs(a, opts))
        for sid in sorted(subnets_of.get(a.id, ()), key=subnet_order):
            if sid not in landing:
                continue
            attrs = {"dir": "none", "color": "#334155", "penwidth": "1.4"}
            if landing[sid].startswith("sn"):
                attrs["lhead"] = f"cluster_subnet{sid}"
            if not opts.redact:
                attrs["label"] = ip_in.get((a.id, sid), "")
            w.edge(asset_key(a.id), landing[sid], **attrs)

    # Links between network devices drawn in full (core ↔ distribution ↔ access switches).
    for cable in sorted(snap.cables.values(), key=lambda c: c.id):
        a = snap.assets.get(snap.interfaces[cable.a].asset)
        b = snap.assets.get(snap.interfaces[cable.b].asset)
        if a is None or b is None or a.kind != "network_device" or b.kind != "network_device":
            continue
        if asset_key(a.id) in w.nodes and asset_key(b.id) in w.nodes:
            w.edge(asset_key(a.id), asset_key(b.id), dir="none", color="#a16207")

    _external(w, snap, opts, landing)
    return w.text()


def _external(w: DotWriter, snap: Snapshot, opts: Options, landing: dict[int, str]) -> None:
    """Each external connection, from the outside world through its gateways to what it reaches."""
    if not snap.connections:
        return
    w.node(
        "internet",
        opts.label("internet"),
        shape="ellipse",
        style="filled",
        fillcolor="#e0f2fe",
        color="#0369a1",
        fontsize="11",
    )
    for conn in sorted(snap.connections.values(), key=lambda c: c.name):
        key = f"c{conn.id}"
        lines = [conn.name, opts.label(conn.method)]
        if conn.provider:
            lines.append(conn.provider)
        if conn.peer and not opts.redact:
            lines.append(conn.peer)
        attrs = {
            "shape": "cds",
            "style": "filled",
            "fillcolor": "#fce7f3",
            "color": "#be185d",
            "id": key,
        }
        if opts.marks.get(key):
            attrs.update(MARK_STYLE[opts.marks[key]])
        w.node(key, "\n".join(lines), **attrs)
        w.edge("internet", key, dir="none", style="dashed", color="#be185d")
        hops = [key] + [asset_key(t) for t in conn.through if asset_key(t) in w.nodes]
        for a, b in zip(hops, hops[1:], strict=False):
            w.edge(a, b, color="#be185d", penwidth="1.6")
        last = hops[-1]
        # One edge per subnet reached (to its box, labelled with how many assets), not one per
        # device: ten vendors reaching their own devices would otherwise hide the drawing.
        targets: Counter[str] = Counter()
        for target in conn.reaches:
            node = landing.get(-target) or (
                asset_key(target) if asset_key(target) in w.nodes else None
            )
            if node is not None and node != last:
                targets[node] += 1
        for node, n in sorted(targets.items()):
            attrs = {"color": "#be185d", "style": "dashed"}
            if node.startswith("sn"):
                attrs["lhead"] = f"cluster_subnet{node[2:]}"
            if n > 1:
                attrs["label"] = f"×{n}"
            w.edge(last, node, **attrs)


# --- physical --------------------------------------------------------------------------------


def physical(snap: Snapshot, opts: Options | None = None) -> str:
    """Building > floor > room > rack as nested boxes, the assets in them, cabling with ports."""
    opts = opts or Options()
    w = DotWriter("physical", rankdir="TB", title=opts.title)
    addresses = snap.asset_addresses()
    by_place: dict[int | None, list[Asset]] = defaultdict(list)
    for asset in sorted(snap.assets.values(), key=lambda a: a.tag):
        by_place[snap.asset_place(asset)].append(asset)
    children: dict[int | None, list[int]] = defaultdict(list)
    for place in sorted(snap.places.values(), key=lambda p: (p.order, p.code)):
        children[place.parent].append(place.id)
    # Only places that hold an asset somewhere below them are drawn.
    occupied: set[int] = set()
    for pid in by_place:
        for place in snap.place_path(pid):
            occupied.add(place.id)
    styles = {
        "site": "#f1f5f9",
        "building": "#eef2ff",
        "floor": "#f8fafc",
        "room": "#ffffff",
        "rack": "#fefce8",
    }

    # Each drawn place gets an invisible top and bottom anchor: the top one above everything in
    # it, the bottom one below. Chaining one place's bottom to the next one's top stacks the
    # places as whole boxes (dot keeps a cluster's nodes together rank by rank).
    anchors: dict[int, tuple[str, str]] = {}

    def draw(pid: int) -> None:
        place = snap.places[pid]
        label = place.name if place.level != "room" else f"{place.code} {place.name}"
        top, bottom = f"pt{pid}", f"pb{pid}"
        anchors[pid] = (top, bottom)
        with w.cluster(f"p{pid}", label, fillcolor=styles.get(place.level, "white")):
            invisible = {"shape": "point", "style": "invis", "width": "0", "height": "0"}
            w.node(top, "", **invisible)
            w.node(bottom, "", **invisible)
            here = by_place.get(pid, [])
            for asset in here:
                w.node(
                    asset_key(asset.id),
                    asset_label(asset, addresses.get(asset.id, []), opts),
                    **asset_attrs(asset, opts),
                )
            keys = [asset_key(a.id) for a in here]
            run = run_length(len(keys), 2.0)
            grid(w, keys, run)
            heads = keys[::run]
            tails = keys[run - 1 :: run] or keys[-1:]
            kids = [c for c in children.get(pid, []) if c in occupied]
            for child in kids:
                draw(child)
            heads += [anchors[c][0] for c in kids]
            tails += [anchors[c][1] for c in kids]
            for head in heads:
                w.edge(top, head, style="invis")
            for tail in tails:
                w.edge(tail, bottom, style="invis")
            if place.level == "building":
                # Floors stacked with the highest on top, as on a building's directory board.
                floors = sorted(kids, key=lambda c: -snap.places[c].order)
                for upper, lower in zip(floors, floors[1:], strict=False):
                    w.edge(anchors[upper][1], anchors[lower][0], style="invis", weight="10")
            elif place.level == "floor" and len(kids) > 3:
                # Rooms wrap into rows, so a floor of thirty rooms is not thirty boxes wide.
                across = math.ceil(math.sqrt(len(kids)))
                for i in range(across, len(kids)):
                    w.edge(anchors[kids[i - across]][1], anchors[kids[i]][0], style="invis")

    for root in children.get(None, []):
        if root in occupied:
            draw(root)
    if by_place.get(None):
        with w.cluster("unplaced", opts.label("no_place"), style="rounded,dashed"):
            for asset in by_place[None]:
                w.node(
                    asset_key(asset.id),
                    asset_label(asset, addresses.get(asset.id, []), opts),
                    **asset_attrs(asset, opts),
                )
    for cable in sorted(snap.cables.values(), key=lambda c: c.id):
        ia, ib = snap.interfaces.get(cable.a), snap.interfaces.get(cable.b)
        if ia is None or ib is None:
            continue
        attrs = {
            "dir": "none",
            "constraint": "false",
            "taillabel": ia.name,
            "headlabel": ib.name,
            "color": "#64748b",
            "labelfontsize": "7",
            "labelfontcolor": "#1e3a8a",
        }
        mark = opts.marks.get(f"cable{cable.id}")
        if mark:
            attrs.update(color=MARK_STYLE[mark]["color"], penwidth="2.5")
            if mark == "removed":
                attrs["style"] = "dashed"
        w.edge(asset_key(ia.asset), asset_key(ib.asset), **attrs)
    return w.text()


# --- servers ---------------------------------------------------------------------------------


def servers(snap: Snapshot, opts: Options | None = None) -> str:
    """Physical servers with the virtual servers they host; hostnames, roles and subnets."""
    opts = opts or Options()
    w = DotWriter("servers", rankdir="LR", title=opts.title)
    subnets_of = snap.asset_subnets()
    all_servers = sorted(
        (a for a in snap.assets.values() if a.kind == "server"), key=lambda a: a.tag
    )
    guests: dict[int | None, list[Asset]] = defaultdict(list)
    for s in all_servers:
        if s.is_virtual:
            guests[s.host if s.host in snap.assets else None].append(s)

    def label(s: Asset) -> str:
        lines = [s.name, s.tag]
        if s.hostname and not opts.redact:
            lines.append(s.hostname)
        if s.role:
            lines.append(s.role)
        nets = sorted(subnets_of.get(s.id, ()))
        if nets and not opts.redact:
            lines.append(", ".join(snap.subnets[n].prefix for n in nets))
        return "\n".join(lines)

    by_room: dict[int | None, list[Asset]] = defaultdict(list)
    for s in all_servers:
        if not s.is_virtual:
            by_room[s.room].append(s)
    for room in sorted(by_room, key=lambda r: (r is None, r or 0)):
        path = snap.place_path(room)
        room_label = (
            " › ".join(p.name if p.level != "room" else f"{p.code} {p.name}" for p in path[1:])
            or "—"
        )
        with w.cluster(f"room{room}", room_label, fillcolor="#f8fafc"):
            for host in by_room[room]:
                vms = guests.get(host.id, [])
                if vms:
                    with w.cluster(
                        f"host{host.id}",
                        label(host),
                        fillcolor="#dcfce7",
                        color="#15803d",
                        URL=opts.asset_url.format(tag=quote(host.tag, safe="")),
                    ):
                        for vm in vms:
                            w.node(asset_key(vm.id), label(vm), **asset_attrs(vm, opts))
                else:
                    w.node(asset_key(host.id), label(host), **asset_attrs(host, opts))
    if guests.get(None):
        with w.cluster("nohost", opts.label("no_host"), style="dashed"):
            for vm in guests[None]:
                w.node(asset_key(vm.id), label(vm), **asset_attrs(vm, opts))
    return w.text()


# --- system function -------------------------------------------------------------------------


def system(snap: Snapshot, opts: Options | None = None) -> str:
    """Medical systems and devices, and the data flows between them (protocol and port)."""
    opts = opts or Options()
    w = DotWriter("system", rankdir="LR", title=opts.title)
    flows = sorted(snap.flows.values(), key=lambda f: f.id)
    involved = {f.source for f in flows} | {f.destination for f in flows}
    nodes = [a for a in snap.assets.values() if a.id in involved or a.kind == "medical_system"]
    # Devices of one model that talk to the same peers the same way become one node "×N".
    signature: dict[int, tuple[object, ...]] = {}
    for a in nodes:
        out = tuple(sorted((f.destination, f.protocol, f.port) for f in flows if f.source == a.id))
        inc = tuple(sorted((f.source, f.protocol, f.port) for f in flows if f.destination == a.id))
        signature[a.id] = (a.kind, a.manufacturer, a.model, out, inc)
    groups: dict[tuple[object, ...], list[Asset]] = defaultdict(list)
    for a in sorted(nodes, key=lambda a: a.tag):
        groups[signature[a.id]].append(a)
    node_of: dict[int, str] = {}
    addresses = snap.asset_addresses()
    by_kind: dict[str, list[tuple[str, str, dict[str, str]]]] = defaultdict(list)
    for members in groups.values():
        first = members[0]
        if len(members) >= 3 and first.kind != "medical_system":
            key = f"g{first.id}"
            lbl = f"{first.manufacturer} {first.model}".strip() or first.name
            label = f"{lbl}\n×{len(members)}"
            attrs = asset_attrs(first, opts, key)
            attrs["URL"] = opts.asset_url.format(tag=quote(first.tag, safe=""))
            attrs["shape"] = "box3d"
            attrs["style"] = "filled"
            for m in members:
                node_of[m.id] = key
        else:
            for m in members:
                node_of[m.id] = asset_key(m.id)
                by_kind[m.kind].append(
                    (
                        asset_key(m.id),
                        asset_label(m, addresses.get(m.id, []), opts),
                        asset_attrs(m, opts),
                    )
                )
            continue
        by_kind[first.kind].append((key, label, attrs))
    for kind in ("medical_system", "server", "medical_device", "pc", "network_device", "other"):
        if not by_kind.get(kind):
            continue
        with w.cluster(f"kind_{kind}", opts.label(kind), fillcolor="#f8fafc"):
            for key, label, attrs in by_kind[kind]:
                w.node(key, label, **attrs)
    seen: set[tuple[str, str, str]] = set()
    for f in flows:
        a, b = node_of.get(f.source), node_of.get(f.destination)
        if a is None or b is None:
            continue
        label = f.protocol + (f" {f.port}" if f.port else "")
        if (a, b, label) in seen:
            continue
        seen.add((a, b, label))
        attrs = {"label": label, "color": "#1d4ed8", "fontcolor": "#1e3a8a"}
        mark = opts.marks.get(f"flow{f.id}")
        if mark:
            attrs.update(color=MARK_STYLE[mark]["color"], penwidth="2.5")
            if mark == "removed":
                attrs["style"] = "dashed"
        w.edge(a, b, **attrs)
    return w.text()


KINDS = {"network": network, "physical": physical, "server": servers, "system": system}

DEFAULT_LABELS: dict[str, str] = {
    "medical_device": "Medical devices",
    "medical_system": "Medical information systems",
    "server": "Servers",
    "network_device": "Network devices",
    "pc": "PCs and terminals",
    "other": "Other",
    "endpoints": "endpoints",
    "internet": "Internet",
    "no_address": "No address",
    "no_place": "No place",
    "no_host": "Virtual servers without a registered host",
}
