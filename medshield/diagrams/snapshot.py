"""The register as plain, frozen data: what the diagram engine draws and compares.

No Django here: :mod:`medshield.diagrams.loader` fills a :class:`Snapshot` from the database (now,
or as the register stood at a past time), and the engine in :mod:`medshield.diagrams.dot` and
:mod:`medshield.diagrams.diff` work on it alone, so they are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

INFRA_ROLES = frozenset({"router", "firewall", "vpn_gateway"})


@dataclass(frozen=True, slots=True)
class Place:
    id: int
    level: str  # site | building | floor | room | rack
    parent: int | None
    code: str
    name: str
    order: int = 0


@dataclass(frozen=True, slots=True)
class Asset:
    id: int
    tag: str
    name: str
    kind: str
    status: str = "in_service"
    network_role: str = ""
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    software_version: str = ""
    hostname: str = ""
    role: str = ""
    is_virtual: bool = False
    host: int | None = None
    room: int | None = None
    rack: int | None = None
    department: str = ""
    criticality: str = ""

    @property
    def is_infrastructure(self) -> bool:
        """Routers, firewalls and VPN gateways: the nodes that join zones."""
        return self.kind == "network_device" and self.network_role in INFRA_ROLES


@dataclass(frozen=True, slots=True)
class Interface:
    id: int
    asset: int
    name: str
    mac: str = ""


@dataclass(frozen=True, slots=True)
class IP:
    id: int
    interface: int
    address: str
    subnet: int | None = None


@dataclass(frozen=True, slots=True)
class Subnet:
    id: int
    prefix: str
    name: str = ""
    vlan: int | None = None
    zone: int | None = None


@dataclass(frozen=True, slots=True)
class VLAN:
    id: int
    vid: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Cable:
    id: int
    a: int  # interface ids
    b: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    name: str
    kind: str
    provider: str = ""
    method: str = ""
    peer: str = ""
    through: tuple[int, ...] = ()
    reaches: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Flow:
    id: int
    source: int
    destination: int
    protocol: str
    port: int | None = None
    purpose: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The whole register at one moment; every mapping is id → record."""

    places: dict[int, Place] = field(default_factory=dict)
    assets: dict[int, Asset] = field(default_factory=dict)
    interfaces: dict[int, Interface] = field(default_factory=dict)
    ips: dict[int, IP] = field(default_factory=dict)
    subnets: dict[int, Subnet] = field(default_factory=dict)
    vlans: dict[int, VLAN] = field(default_factory=dict)
    zones: dict[int, Zone] = field(default_factory=dict)
    cables: dict[int, Cable] = field(default_factory=dict)
    connections: dict[int, Connection] = field(default_factory=dict)
    flows: dict[int, Flow] = field(default_factory=dict)

    # --- derived views (computed on demand; a snapshot is small enough to walk) -----------------
    def asset_subnets(self) -> dict[int, set[int]]:
        """asset id → the subnets it has an address in."""
        out: dict[int, set[int]] = {}
        for ip in self.ips.values():
            iface = self.interfaces.get(ip.interface)
            if iface is not None and ip.subnet is not None and ip.subnet in self.subnets:
                out.setdefault(iface.asset, set()).add(ip.subnet)
        return out

    def asset_addresses(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for ip in sorted(self.ips.values(), key=lambda i: i.id):
            iface = self.interfaces.get(ip.interface)
            if iface is not None:
                out.setdefault(iface.asset, []).append(ip.address)
        return out

    def place_path(self, place_id: int | None) -> list[Place]:
        """Site first, down to the place itself."""
        path: list[Place] = []
        while place_id is not None and place_id in self.places:
            place = self.places[place_id]
            path.append(place)
            place_id = place.parent
        return list(reversed(path))

    def asset_place(self, asset: Asset) -> int | None:
        return asset.rack if asset.rack in self.places else asset.room

    def restricted(self, keep: set[int]) -> Snapshot:
        """The same register holding only the assets in ``keep`` (and what hangs off them)."""
        interfaces = {k: v for k, v in self.interfaces.items() if v.asset in keep}
        return replace(
            self,
            assets={k: v for k, v in self.assets.items() if k in keep},
            interfaces=interfaces,
            ips={k: v for k, v in self.ips.items() if v.interface in interfaces},
            cables={
                k: v for k, v in self.cables.items() if v.a in interfaces and v.b in interfaces
            },
            connections={
                k: replace(
                    v,
                    through=tuple(a for a in v.through if a in keep),
                    reaches=tuple(a for a in v.reaches if a in keep),
                )
                for k, v in self.connections.items()
            },
            flows={
                k: v for k, v in self.flows.items() if v.source in keep and v.destination in keep
            },
        )


@dataclass(frozen=True)
class Filters:
    """What part of the register a diagram shows (all fields optional, combined with AND)."""

    site: int | None = None
    building: int | None = None
    floor: int | None = None
    zone: int | None = None
    subnet: int | None = None
    department: str = ""

    def apply(self, snap: Snapshot) -> Snapshot:
        if not any((self.site, self.building, self.floor, self.zone, self.subnet, self.department)):
            return snap
        subnets_of = snap.asset_subnets()
        keep: set[int] = set()
        for asset in snap.assets.values():
            ids = {p.id for p in snap.place_path(snap.asset_place(asset))}
            if self.site and self.site not in ids:
                continue
            if self.building and self.building not in ids:
                continue
            if self.floor and self.floor not in ids:
                continue
            if self.department and asset.department != self.department:
                continue
            nets = subnets_of.get(asset.id, set())
            if self.subnet and self.subnet not in nets:
                continue
            if self.zone and not any(snap.subnets[s].zone == self.zone for s in nets):
                continue
            keep.add(asset.id)
        return snap.restricted(keep)
