"""Build the demo register: a believable (fictional) Japanese general hospital as one document.

``build_demo_document()`` returns the JSON document of docs/register-format.md, ready for the
register importer or ``json.dump``. It touches no database and no clock: the same seed gives
the same document byte for byte, so tests and benchmarks can rely on it.

The hospital is built in two passes. The first lays out places and adds every asset, leaving
two things open: which access-switch port each wired endpoint plugs into, and which address each
interface gets. The second pass decides both once the counts are known, so access switches are
added per wiring closet as ports run out and every subnet is sized to hold its hosts (a /24 at
least, wider when a segment grows); that is what lets ``assets=100000`` stay valid.
"""

from __future__ import annotations

import gc
import math
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from medshield.demo import catalogue as cat
from medshield.demo.flows import demo_flows

Json = dict[str, Any]
#: (building code, floor name, room code, rack name or None)
Place = tuple[str, str, str, str | None]

SITE: Final = "CENTRAL"
SITE_NAME: Final = "medshield 中央病院"
SITE_ADDRESS: Final = "東京都港区架空町1-1-1 (架空の所在地)"

#: ports of a 48-port access switch given to endpoints; 45-48 stay free for moves
PORTS_PER_ACCESS: Final = 44
#: first host of an internal subnet: .1 is the gateway, .2-.10 are kept for VRRP and appliances
HOST_OFFSET: Final = 11
#: segments that exist once per building; every other segment is site-wide
PER_BUILDING: Final = frozenset({"ME-WARD", "ME-WLAN", "EHR", "MGMT", "OA", "GUEST"})

# departments (診療科・部署) and owners used throughout
ER, RAD, ICU, OR, ME, LAB, DIA, ENDO = (
    "救急部",
    "放射線科",
    "集中治療部",
    "手術部",
    "臨床工学部",
    "検査部",
    "透析センター",
    "内視鏡センター",
)
IT, MEDAFFAIRS, GENERAL, PHARMACY = "医療情報部", "医事課", "総務課", "薬剤部"

#: the wards of the standard hospital: building, floor, ward name, department
STANDARD_WARDS: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("MAIN", "4F", "4東", "循環器内科"),
    ("MAIN", "4F", "4西", "呼吸器内科"),
    ("MAIN", "5F", "5東", "消化器内科"),
    ("MAIN", "5F", "5西", "外科"),
    ("MAIN", "6F", "6東", "整形外科"),
    ("MAIN", "6F", "6西", "脳神経外科"),
    ("MAIN", "7F", "7東", "内科"),
    ("EAST", "3F", "東3", "産婦人科"),
)
#: departments the wards of added ward buildings take in turn
SCALED_DEPARTMENTS: Final = (
    "内科",
    "外科",
    "循環器内科",
    "呼吸器内科",
    "消化器内科",
    "整形外科",
    "脳神経外科",
    "腎臓内科",
    "泌尿器科",
    "小児科",
)
#: floors of an added ward building (two wards each)
SCALED_FLOORS: Final = 10


@dataclass(frozen=True, slots=True)
class Nic:
    """An interface to create: its name, the segment it takes an address in, how it is wired.

    ``wiring`` is ``floor`` (the floor's access switch), ``tor`` (the server-room switches),
    ``dmz`` (the DMZ switch), or ``wireless``/``virtual``/``manual`` (no cable drawn for it).
    """

    name: str
    segment: str | None
    wiring: str = "floor"


@dataclass(slots=True)
class _Segment:
    code: str
    building: str
    vid: int
    #: the ``ip_addresses`` lists of the interfaces waiting for an address, in order
    members: list[list[str]] = field(default_factory=list)


def _ip(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def _ip_int(text: str) -> int:
    a, b, c, d = (int(part) for part in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def _mac(high: int, low: int) -> str:
    """``high``:xx:xx:xx:xx with the low 32 bits from ``low``; formatted directly for speed."""
    return (
        f"{high >> 8:02x}:{high & 255:02x}:{low >> 24 & 255:02x}:{low >> 16 & 255:02x}:"
        f"{low >> 8 & 255:02x}:{low & 255:02x}"
    )


class _Hospital:
    """Accumulates places, assets, cabling and segments, then renders the document."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.buildings: dict[str, Json] = {}
        self.floors: dict[tuple[str, str], Json] = {}
        self.room_count: dict[tuple[str, str], int] = defaultdict(int)
        self.idf: dict[tuple[str, str], Place] = {}
        self.assets: list[Json] = []
        self.by_tag: dict[str, Json] = {}
        self.tag_count: dict[str, int] = defaultdict(int)
        self.segments: dict[tuple[str, str], _Segment] = {}
        self.used_vids: set[int] = set()
        self.vid_cursor: dict[int, int] = {}
        #: wired endpoints per floor waiting for an access-switch port
        self.floor_ports: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        #: access switches the waiting endpoints will need (kept so scaling can aim at a total)
        self.pending_switches = 0
        self.cabling: list[Json] = []
        self.ports_used: dict[str, int] = defaultdict(int)
        self.remote: dict[str, list[str]] = defaultdict(list)
        self.mac_count = 0
        self.vm_mac_count = 0
        self.dist: dict[str, tuple[str, str]] = {}
        self.core: tuple[str, str] = ("", "")
        self.tor: tuple[str, str] = ("", "")
        self.dmz_switch = ""
        self.esxi: list[str] = []
        self.vm_count = 0
        self.wards = 0
        self.roles: dict[str, str] = {}

    # --- places ------------------------------------------------------------------------------

    def building(self, code: str, name: str) -> None:
        self.buildings[code] = {"code": code, "name": name, "floors": []}

    def floor(self, building: str, name: str, level: int, *, mdf: bool = False) -> Place:
        """Add a floor with its wiring closet (the MDF holds the building's distribution pair)."""
        record: Json = {"name": name, "level": level, "rooms": []}
        self.buildings[building]["floors"].append(record)
        self.floors[(building, name)] = record
        if mdf:
            closet = self.room(building, name, "MDF 主配線盤室", code="MDF", racks=(("R01", 42),))
        else:
            closet = self.room(
                building, name, f"IDF {name} 配線室", code=f"IDF-{name}", racks=(("R01", 24),)
            )
        self.idf[(building, name)] = closet
        return closet

    def room(
        self,
        building: str,
        floor: str,
        name: str,
        *,
        code: str | None = None,
        racks: Sequence[tuple[str, int]] = (),
    ) -> Place:
        """Add a room; without ``code`` it is numbered on its floor as signed (301, B102)."""
        if code is None:
            self.room_count[(building, floor)] += 1
            number = floor[:-1] if floor.endswith("F") else floor
            code = f"{number}{self.room_count[(building, floor)]:02d}"
        self.floors[(building, floor)]["rooms"].append(
            {
                "code": code,
                "name": name,
                "racks": [{"name": rack, "u_height": height} for rack, height in racks],
            }
        )
        rack = racks[0][0] if racks else None
        return (building, floor, code, rack)

    # --- segments and wiring -----------------------------------------------------------------

    def segment(self, code: str, building: str) -> _Segment:
        scope = building if code in PER_BUILDING else ""
        found = self.segments.get((scope, code))
        if found is None:
            found = _Segment(code, scope, self._vid(cat.SEGMENTS[code].vid_base))
            self.segments[(scope, code)] = found
        return found

    def _vid(self, base: int) -> int:
        """The next free VLAN ID at or above the kind's base (wrapping to 2 when it runs out)."""
        vid = self.vid_cursor.get(base, base)
        for _ in range(4094):
            if vid > 4094:
                vid = 2
            if vid not in self.used_vids:
                self.used_vids.add(vid)
                self.vid_cursor[base] = vid + 1
                return vid
            vid += 1
        raise ValueError("the demo site ran out of VLAN IDs; ask for fewer assets")

    def _port(self, switch: str, prefix: str, per_member: int) -> str:
        """Take the next free port of ``switch``, naming it like the switch does."""
        used = self.ports_used[switch]
        self.ports_used[switch] = used + 1
        name = f"{prefix}{used // per_member + 1}/0/{used % per_member + 1}"
        self.add_port(switch, name)
        return name

    def add_port(self, tag: str, name: str) -> None:
        self.by_tag[tag]["interfaces"].append({"name": name, "mac": "", "ip_addresses": []})

    def cable(
        self, a_tag: str, a_if: str, b_tag: str, b_if: str, cable_type: str, label: str = ""
    ) -> None:
        """A cable from a device interface (``a``) into a switch or upstream port (``b``)."""
        self.cabling.append(
            {
                "a": {"asset_tag": a_tag, "interface": a_if},
                "b": {"asset_tag": b_tag, "interface": b_if},
                "cable_type": cable_type,
                "label": label,
            }
        )

    def plug(
        self, tag: str, interface: str, switch: str, prefix: str, per_member: int, kind: str
    ) -> None:
        port = self._port(switch, prefix, per_member)
        self.cable(tag, interface, switch, port, kind, f"{self.by_tag[switch]['hostname']} {port}")

    # --- assets ------------------------------------------------------------------------------

    def add(
        self,
        key: str,
        place: Place,
        *,
        name: str,
        department: str = "",
        owner: str = "",
        nics: Sequence[Nic] = (),
        status: str = "in_service",
        hostname: str = "",
        role: str = "",
        host: str | None = None,
        version: str | None = None,
        notes: str = "",
        criticality: str | None = None,
        remote_vendor: str | None = None,
    ) -> str:
        """Add one asset of catalogue product ``key`` and return its tag."""
        product = cat.PRODUCTS[key]
        prefix, width = cat.TAG_FORMAT[product.kind]
        self.tag_count[prefix] += 1
        tag = f"{prefix}-{self.tag_count[prefix]:0{width}d}"
        vendor = cat.VENDORS[product.vendor]
        clinical = product.kind in (cat.MEDICAL_DEVICE, cat.MEDICAL_SYSTEM)
        rng = self.rng
        interfaces: list[Json] = []
        record: Json = {
            "asset_tag": tag,
            "name": name,
            "kind": product.kind,
            "status": status,
            "manufacturer": vendor.name,
            "model": product.model,
            "serial_number": (
                f"{product.serial_prefix}{rng.randrange(1_000_000, 10_000_000)}"
                if product.serial_prefix
                else ""
            ),
            "software_version": version if version is not None else rng.choice(product.versions),
            "department": department,
            "owner": owner,
            "criticality": (criticality or product.criticality) if clinical else "",
            "handles_patient_data": product.patient_data,
            "support_contact": vendor.contact,
            "network_role": product.network_role,
            "hostname": hostname,
            "role": role,
            "is_virtual": host is not None,
            "host": host,
            "place": {
                "site": SITE,
                "building": place[0],
                "floor": place[1],
                "room": place[2],
                "rack": place[3],
            },
            "interfaces": interfaces,
            "notes": notes,
        }
        self.assets.append(record)
        self.by_tag[tag] = record
        tor_side = 0
        for nic in nics:
            if nic.wiring == "virtual":
                # VMware's range for manually assigned MACs: 00:50:56:00:00:00-3f:ff:ff
                self.vm_mac_count += 1
                mac = _mac(0x0050, 0x56000000 | self.vm_mac_count)
            else:
                # locally administered (02:...), the vendor in the second byte, then a counter
                self.mac_count += 1
                mac = _mac(0x0200 | vendor.mac_byte, self.mac_count)
            addresses: list[str] = []
            interfaces.append({"name": nic.name, "mac": mac, "ip_addresses": addresses})
            if nic.segment is not None:
                self.segment(nic.segment, place[0]).members.append(addresses)
            if nic.wiring == "floor":
                waiting = self.floor_ports[(place[0], place[1])]
                waiting.append((tag, nic.name))
                if len(waiting) % PORTS_PER_ACCESS == 1:
                    self.pending_switches += 1
            elif nic.wiring == "tor":
                self.plug(tag, nic.name, self.tor[tor_side % 2], "Gi", 48, "copper")
                tor_side += 1
            elif nic.wiring == "dmz":
                self.plug(tag, nic.name, self.dmz_switch, "Gi", 24, "copper")
        if status == "in_service":
            if product.remote:
                self.remote[product.vendor].append(tag)
            if remote_vendor is not None:
                self.remote[remote_vendor].append(tag)
        return tag

    def many(
        self,
        key: str,
        count: int,
        place: Place,
        where: str,
        department: str,
        owner: str,
        segment: str | None,
        *,
        wiring: str = "floor",
        status: str = "in_service",
        start: int = 1,
    ) -> list[str]:
        """``count`` alike assets named "<label> <where>-01"... on one NIC each."""
        label = cat.PRODUCTS[key].label
        nic = Nic("wlan0" if wiring == "wireless" else "eth0", segment, wiring)
        nics = (nic,) if status == "in_service" else (Nic(nic.name, None, "manual"),)
        return [
            self.add(
                key,
                place,
                name=f"{label} {where}-{number:02d}"
                if count > 1 or start > 1
                else f"{label} {where}",
                department=department,
                owner=owner,
                nics=nics,
                status=status,
            )
            for number in range(start, start + count)
        ]

    def projected(self) -> int:
        """Assets once the access switches for the waiting endpoints are added."""
        return len(self.assets) + self.pending_switches

    # --- second pass -------------------------------------------------------------------------

    def finish_access_switches(self) -> None:
        """Give every floor enough access switches, cable its endpoints and uplink them."""
        for (building, floor), waiting in self.floor_ports.items():
            mgmt = self.segment("MGMT", building)
            closet = self.idf[(building, floor)]
            dist_a, dist_b = self.dist[building]
            name = self.buildings[building]["name"]
            for number, start in enumerate(range(0, len(waiting), PORTS_PER_ACCESS), start=1):
                host = f"{building.lower()}-{floor.lower()}-as{number:02d}"
                tag = self.add(
                    "access",
                    closet,
                    name=f"{name} {floor} アクセススイッチ {number}",
                    department=IT,
                    owner=IT,
                    hostname=host,
                    role="フロアアクセス (PoE)",
                    nics=(Nic(f"Vlan{mgmt.vid}", "MGMT", "manual"),),
                )
                for side, upstream in ((1, dist_a), (2, dist_b)):
                    own = f"Te1/1/{side}"
                    self.add_port(tag, own)
                    self.plug(tag, own, upstream, "Te", 24, "fiber")
                for index, (device, interface) in enumerate(
                    waiting[start : start + PORTS_PER_ACCESS], start=1
                ):
                    port = f"Gi1/0/{index}"
                    self.add_port(tag, port)
                    self.cable(device, interface, tag, port, "copper", f"{host} {port}")
        self.pending_switches = 0

    def address(self) -> tuple[list[Json], list[Json]]:
        """Size and place every subnet, hand out addresses; return (vlans, subnets)."""
        blocks = sorted(cat.ZONE_BLOCKS.values())
        limit = {b: (blocks[i + 1] if i + 1 < len(blocks) else b + 1) for i, b in enumerate(blocks)}
        cursor = {zone: (10 << 24) | (block << 16) for zone, block in cat.ZONE_BLOCKS.items()}
        vlans: list[Json] = []
        subnets: list[Json] = []
        for segment in self.segments.values():
            kind = cat.SEGMENTS[segment.code]
            count = len(segment.members)
            fixed = cat.FIXED_PREFIXES.get(segment.code)
            if fixed is not None:
                network, length, first = _ip_int(fixed[0]), fixed[1], fixed[2]
            else:
                block = cat.ZONE_BLOCKS[kind.zone]
                # room for growth: a quarter again, at least eight spare addresses
                needed = HOST_OFFSET + count + max(8, count // 4) + 1
                if segment.code == "GUEST":
                    needed = max(needed, 512)  # DHCP pool for visitors' phones
                length = min(24, 32 - math.ceil(math.log2(needed)))
                size = 1 << (32 - length)
                network = -(-cursor[kind.zone] // size) * size
                if network + size > (10 << 24) | (limit[block] << 16):
                    raise ValueError(f"zone {kind.zone} ran out of addresses; ask for fewer assets")
                cursor[kind.zone] = network + size
                first = HOST_OFFSET
            if first + count >= 1 << (32 - length):
                raise ValueError(f"segment {segment.code} does not fit {count} hosts")
            for offset, addresses in enumerate(segment.members, start=first):
                addresses.append(_ip(network + offset))
            where = self.buildings[segment.building]["name"] if segment.building else ""
            label = f"{segment.code}-{segment.building}" if segment.building else segment.code
            vlans.append({"site": SITE, "vid": segment.vid, "name": label})
            subnets.append(
                {
                    "prefix": f"{_ip(network)}/{length}",
                    "name": f"{kind.name} {where}".strip(),
                    "site": SITE,
                    "vlan": segment.vid,
                    "zone": kind.zone,
                    "gateway": _ip(network + 1),
                    "description": kind.description,
                }
            )
        return vlans, subnets

    def document(self, vlans: list[Json], subnets: list[Json], connections: list[Json]) -> Json:
        """The document with every list in the exporter's order (so diffs against it are clean)."""
        buildings = []
        for code in sorted(self.buildings):
            building = self.buildings[code]
            for floor in building["floors"]:
                floor["rooms"].sort(key=lambda r: r["code"])
                for room in floor["rooms"]:
                    room["racks"].sort(key=lambda r: r["name"])
            building["floors"].sort(key=lambda f: (f["level"], f["name"]))
            buildings.append(building)
        for asset in self.assets:
            asset["interfaces"].sort(key=lambda i: i["name"])
        return {
            "format": "medshield-register",
            "version": 1,
            "places": [
                {"code": SITE, "name": SITE_NAME, "address": SITE_ADDRESS, "buildings": buildings}
            ],
            "zones": [
                {"name": name, "description": text} for name, text in sorted(cat.ZONES.items())
            ],
            "vlans": sorted(vlans, key=lambda v: v["vid"]),
            "subnets": sorted(subnets, key=lambda s: _ip_int(s["prefix"].split("/")[0])),
            "assets": sorted(self.assets, key=lambda a: a["asset_tag"]),
            "cabling": sorted(
                self.cabling, key=lambda c: (c["a"]["asset_tag"], c["a"]["interface"])
            ),
            "external_connections": sorted(connections, key=lambda c: c["name"]),
        }


# --- the hospital --------------------------------------------------------------------------


def _infrastructure(h: _Hospital) -> dict[str, str]:
    """Server room, core, firewalls and edge; returns the tags later steps refer to."""
    h.building("MAIN", "本館")
    h.building("EAST", "東館")
    mdf = h.floor("MAIN", "B1", -1, mdf=True)
    racks = tuple((f"R{n:02d}", 42) for n in range(1, 9))
    server_room = h.room("MAIN", "B1", "サーバ室", racks=racks)

    def rack(number: int) -> Place:
        return (server_room[0], server_room[1], server_room[2], f"R{number:02d}")

    tags: dict[str, str] = {}
    mgmt = Nic("mgmt0", "NW-MGMT", "manual")
    # in-band management interface of the switches, named after the management VLAN
    svi = Nic(f"Vlan{h.segment('NW-MGMT', 'MAIN').vid}", "NW-MGMT", "manual")
    core = []
    for number in (1, 2):
        core.append(
            h.add(
                "core",
                rack(1),
                name=f"コアスイッチ {number}",
                department=IT,
                owner=IT,
                hostname=f"core-sw{number:02d}",
                role="コア (L3, VRRP)",
                nics=(svi,),
            )
        )
    h.core = (core[0], core[1])
    for port in ("Hu1/0/49", "Hu1/0/50"):
        h.add_port(core[0], port)
        h.add_port(core[1], port)
        h.cable(core[0], port, core[1], port, "dac", f"core-sw01 {port} - core-sw02 {port}")
    tors = []
    for number in (1, 2):
        tag = h.add(
            "tor",
            rack(4),
            name=f"サーバ収容スイッチ {number}",
            department=IT,
            owner=IT,
            hostname=f"srv-sw{number:02d}",
            role="サーバ収容 (ToR)",
            nics=(svi,),
        )
        for side, upstream in enumerate(core, start=1):
            h.add_port(tag, f"Te1/1/{side}")
            h.plug(tag, f"Te1/1/{side}", upstream, "Twe", 48, "fiber")
        tors.append(tag)
    h.tor = (tors[0], tors[1])
    tags["edge_router"] = h.add(
        "edge_router",
        rack(2),
        name="インターネット接続ルータ",
        department=IT,
        owner=IT,
        hostname="edge-rt01",
        role="ISP接続 (PPPoE)",
        nics=(Nic("lan1", None, "manual"), Nic("lan2", "INET", "manual"), mgmt),
    )
    tags["edge_fw"] = fw = h.add(
        "edge_fw",
        rack(2),
        name="インターネット境界FW",
        department=IT,
        owner=IT,
        hostname="edge-fw01",
        role="インターネット境界・DMZ・VPN終端",
        nics=(
            Nic("port1", "INET", "manual"),
            Nic("port2", None, "manual"),
            Nic("port3", None, "manual"),
            Nic("port4", "DMZ", "manual"),
            mgmt,
        ),
    )
    h.cable(fw, "port1", tags["edge_router"], "lan2", "copper", "edge-fw01 port1 - edge-rt01 lan2")
    h.plug(fw, "port2", core[0], "Twe", 48, "fiber")
    h.plug(fw, "port3", core[1], "Twe", 48, "fiber")
    tags["med_fw"] = med = h.add(
        "med_fw",
        rack(2),
        name="医療セグメントFW",
        department=IT,
        owner=IT,
        hostname="med-fw01",
        role="医療機器セグメント間・リモート保守の制御",
        nics=(
            Nic("ethernet1/1", None, "manual"),
            Nic("ethernet1/2", None, "manual"),
            Nic("ethernet1/3", "RM", "manual"),
            mgmt,
        ),
    )
    h.plug(med, "ethernet1/1", core[0], "Twe", 48, "fiber")
    h.plug(med, "ethernet1/2", core[1], "Twe", 48, "fiber")
    h.dmz_switch = h.add(
        "dmz_switch",
        rack(2),
        name="DMZスイッチ",
        department=IT,
        owner=IT,
        hostname="dmz-sw01",
        role="DMZ収容",
        nics=(svi,),
    )
    h.add_port(h.dmz_switch, "Gi1/1/1")
    h.cable(h.dmz_switch, "Gi1/1/1", fw, "port4", "copper", "dmz-sw01 Gi1/1/1 - edge-fw01 port4")
    tags["regional_router"] = h.add(
        "regional_router",
        rack(2),
        name="地域医療連携網ルータ",
        department=IT,
        owner=IT,
        hostname="rgn-rt01",
        role="地域医療連携 閉域網接続",
        nics=(Nic("GE0", "REGIONAL", "manual"), Nic("GE1", "DMZ", "dmz"), mgmt),
    )
    wlc = h.add(
        "wlc",
        rack(1),
        name="無線LANコントローラ",
        department=IT,
        owner=IT,
        hostname="wlc01",
        role="全館無線LAN (医療機器/電子カルテ/ゲストSSID)",
        nics=(Nic("Te0/0/0", "NW-MGMT", "manual"), Nic("Te0/0/1", None, "manual")),
    )
    h.plug(wlc, "Te0/0/0", core[0], "Twe", 48, "fiber")
    h.plug(wlc, "Te0/0/1", core[1], "Twe", 48, "fiber")
    h.dist["MAIN"] = _distribution(h, "MAIN", mdf)

    # remote-maintenance VPN routers, one per vendor, in their own rack
    for vendor, _method in cat.REMOTE_VENDORS:
        maker = cat.VENDORS[vendor].name
        tag = h.add(
            "vpn",
            rack(3),
            name=f"リモート保守VPNルータ ({maker})",
            department=IT,
            owner=IT,
            hostname=f"rm-{vendor}",
            role=f"{maker} リモート保守接続",
            nics=(Nic("lan2", "DMZ", "dmz"), Nic("lan1", "RM", "manual")),
            notes="メーカー貸与機器。接続は医療情報部の承認後に保守時間帯のみ有効化",
        )
        h.plug(tag, "lan1", core[0], "Twe", 48, "copper")
        tags[f"vpn_{vendor}"] = tag

    # servers: three ESXi hosts carry the virtual machines
    for number in (1, 2, 3):
        tag = h.add(
            "esxi",
            rack(4 if number < 3 else 5),
            name=f"仮想化基盤ホスト {number}",
            department=IT,
            owner=IT,
            hostname=f"esx{number:02d}",
            role="VMware vSphere ホスト",
            nics=(
                Nic("vmnic0", "SRV-MGMT", "tor"),
                Nic("vmnic1", None, "tor"),
                Nic("vmnic2", None, "tor"),
                Nic("vmnic3", None, "tor"),
                Nic("iLO", "SRV-MGMT", "tor"),
            ),
        )
        h.esxi.append(tag)
    tags["backup"] = h.add(
        "server_hpe",
        rack(5),
        name="バックアップサーバ",
        department=IT,
        owner=IT,
        hostname="backup01",
        role="バックアップ (Veeam B&R, 世代管理・オフライン媒体)",
        version="Windows Server 2022",
        nics=(Nic("eno1", "INFRA", "tor"), Nic("eno2", None, "tor"), Nic("iLO", "SRV-MGMT", "tor")),
    )
    tags["pacs_archive"] = h.add(
        "server_storage",
        rack(6),
        name="PACS 画像アーカイブサーバ",
        department=RAD,
        owner=IT,
        hostname="pacs-arc01",
        role="PACS 画像長期保管",
        remote_vendor="fujifilm",
        nics=(
            Nic("eno1", "MIS-SRV", "tor"),
            Nic("eno2", None, "tor"),
            Nic("iDRAC", "SRV-MGMT", "tor"),
        ),
    )
    for key, name, host, role in (
        ("server_dell", "Webプロキシサーバ", "proxy01", "インターネット閲覧プロキシ (情報系)"),
        ("server_dell", "メール中継サーバ", "mail-relay01", "外部メール中継・添付無害化"),
        ("server_hpe", "リモート保守 踏み台サーバ", "jump01", "保守作業の踏み台・操作録画"),
    ):
        tags[host] = h.add(
            key,
            rack(7),
            name=name,
            department=IT,
            owner=IT,
            hostname=host,
            role=role,
            nics=(Nic("eno1", "DMZ", "dmz"),),
        )
    tags["regional_gw"] = h.add(
        "regional",
        rack(7),
        name="地域医療連携 ゲートウェイ",
        department="地域医療連携室",
        owner=IT,
        hostname="idlink-gw01",
        nics=(Nic("eth0", "DMZ", "dmz"),),
        notes="地域医療連携ネットワークへ診療情報を公開する連携サーバ",
    )
    tags["pump_gw"] = h.add(
        "pump_gateway",
        rack(8),
        name="輸液ポンプ管理サーバ",
        department=ME,
        owner=ME,
        hostname="pump-gw01",
        nics=(Nic("eth0", "MIS-SRV", "tor"),),
        notes="無線LAN経由で輸液・シリンジポンプの薬剤ライブラリ配信と稼働ログ収集",
    )
    tags["monitor_gw"] = h.add(
        "monitor_gateway",
        rack(8),
        name="生体情報管理サーバ",
        department=ME,
        owner=ME,
        hostname="primegaia01",
        nics=(Nic("eth0", "MIS-SRV", "tor"),),
        notes="セントラルモニタのバイタルを電子カルテ・PDMSへ連携",
    )

    # virtual machines, spread over the three hosts
    vms = (
        (
            "電子カルテ DBサーバ 1",
            "ehr-db01",
            "電子カルテ DB (Oracle Database 19c)",
            "Oracle Linux 8.9",
            "MIS-SRV",
            "fujitsu",
        ),
        (
            "電子カルテ DBサーバ 2",
            "ehr-db02",
            "電子カルテ DB 待機系",
            "Oracle Linux 8.9",
            "MIS-SRV",
            "fujitsu",
        ),
        (
            "電子カルテ APサーバ 1",
            "ehr-ap01",
            "電子カルテ アプリケーション",
            "Windows Server 2019",
            "MIS-SRV",
            "fujitsu",
        ),
        (
            "電子カルテ APサーバ 2",
            "ehr-ap02",
            "電子カルテ アプリケーション",
            "Windows Server 2019",
            "MIS-SRV",
            "fujitsu",
        ),
        (
            "オーダ連携サーバ",
            "hl7-if01",
            "部門連携 (HL7/SS-MIX2)",
            "Windows Server 2019",
            "MIS-SRV",
            "fujitsu",
        ),
        (
            "PACS DBサーバ",
            "pacs-db01",
            "PACS データベース",
            "Windows Server 2022",
            "MIS-SRV",
            "fujifilm",
        ),
        (
            "PACS 配信サーバ",
            "pacs-web01",
            "PACS 画像配信",
            "Windows Server 2022",
            "MIS-SRV",
            "fujifilm",
        ),
        ("RISサーバ", "ris01", "放射線情報システム", "Windows Server 2022", "MIS-SRV", "canon"),
        (
            "検査システムサーバ",
            "lis01",
            "臨床検査システム",
            "Red Hat Enterprise Linux 8.10",
            "MIS-SRV",
            None,
        ),
        ("PDMSサーバ", "icca01", "重症系部門システム", "Windows Server 2022", "MIS-SRV", "philips"),
        (
            "透析管理サーバ",
            "dialysis01",
            "透析管理システム",
            "Windows Server 2019",
            "MIS-SRV",
            None,
        ),
        (
            "内視鏡ファイリングサーバ",
            "endo01",
            "内視鏡画像ファイリング",
            "Windows Server 2022",
            "MIS-SRV",
            "olympus",
        ),
        ("医事会計サーバ", "ijikaikei01", "医事会計", "Windows Server 2019", "MIS-SRV", None),
        ("薬剤部門サーバ", "pharm01", "薬剤部門システム", "Windows Server 2022", "MIS-SRV", None),
        (
            "ADドメインコントローラ 1",
            "dc01",
            "Active Directory",
            "Windows Server 2022",
            "INFRA",
            None,
        ),
        (
            "ADドメインコントローラ 2",
            "dc02",
            "Active Directory",
            "Windows Server 2022",
            "INFRA",
            None,
        ),
        ("DNS/DHCPサーバ 1", "dns01", "DNS・DHCP", "Windows Server 2022", "INFRA", None),
        (
            "DNS/DHCPサーバ 2",
            "dns02",
            "DNS・DHCP (フェイルオーバー)",
            "Windows Server 2022",
            "INFRA",
            None,
        ),
        (
            "WSUSサーバ",
            "wsus01",
            "Windows Update 配信 (オフライン同期)",
            "Windows Server 2022",
            "INFRA",
            None,
        ),
        (
            "ウイルス対策管理サーバ",
            "av01",
            "ウイルス対策 (Trend Micro Apex One)",
            "Windows Server 2022",
            "INFRA",
            None,
        ),
        (
            "ログ管理サーバ",
            "syslog01",
            "syslog・アクセスログ保管",
            "Red Hat Enterprise Linux 9.4",
            "INFRA",
            None,
        ),
        ("ファイルサーバ", "file01", "部署共有フォルダ", "Windows Server 2022", "INFRA", None),
        (
            "vCenter Server",
            "vcenter01",
            "vSphere 管理",
            "VMware vCenter Server 8.0 U2",
            "SRV-MGMT",
            None,
        ),
    )
    for index, (name, host, role, os_name, segment, vendor) in enumerate(vms):
        esx = h.esxi[index % len(h.esxi)]
        tags[host] = h.add(
            "vm",
            (server_room[0], server_room[1], server_room[2], None),
            name=name,
            department=IT,
            owner=IT,
            hostname=host,
            role=role,
            host=esx,
            version=os_name,
            nics=(Nic("ens192", segment, "virtual"),),
            remote_vendor=vendor,
        )

    # the medical information systems as the clinicians know them, with their servers
    room_place: Place = (server_room[0], server_room[1], server_room[2], None)
    for key, department, servers in (
        ("ehr", IT, ("ehr-db01", "ehr-db02", "ehr-ap01", "ehr-ap02")),
        ("order", IT, ("ehr-ap01", "ehr-ap02", "hl7-if01")),
        ("pacs", RAD, ("pacs-db01", "pacs-web01")),
        ("ris", RAD, ("ris01",)),
        ("lis", LAB, ("lis01",)),
        ("pdms", ICU, ("icca01",)),
        ("dialysis_mgmt", DIA, ("dialysis01",)),
        ("endo_filing", ENDO, ("endo01",)),
        ("billing", MEDAFFAIRS, ("ijikaikei01",)),
        ("pharmacy", PHARMACY, ("pharm01",)),
    ):
        hosts = ", ".join(f"{tags[s]} ({s})" for s in servers)
        h.add(
            key,
            room_place,
            name=cat.PRODUCTS[key].label,
            department=department,
            owner=IT,
            notes=f"稼働サーバ: {hosts}",
        )
    return tags


def _distribution(h: _Hospital, building: str, place: Place) -> tuple[str, str]:
    """The building's distribution pair, each uplinked to both core switches."""
    name = h.buildings[building]["name"]
    pair = []
    for number in (1, 2):
        tag = h.add(
            "dist",
            place,
            name=f"{name} 集約スイッチ {number}",
            department=IT,
            owner=IT,
            hostname=f"{building.lower()}-ds{number:02d}",
            role="建屋集約",
            nics=(Nic(f"Vlan{h.segment('NW-MGMT', building).vid}", "NW-MGMT", "manual"),),
        )
        for side, upstream in enumerate(h.core, start=1):
            h.add_port(tag, f"Fo1/1/{side}")
            h.plug(tag, f"Fo1/1/{side}", upstream, "Twe", 48, "fiber")
        pair.append(tag)
    return (pair[0], pair[1])


def _aps(h: _Hospital, places: Sequence[Place], tag_name: str) -> None:
    """Wireless access points (PoE from the floor switch, managed in the building's MGMT)."""
    for number, place in enumerate(places, start=1):
        h.add(
            "ap",
            place,
            name=f"無線AP {tag_name}-{number:02d}",
            department=IT,
            owner=IT,
            hostname=f"ap-{place[0].lower()}-{place[1].lower()}-{number:02d}",
            role="医療機器/電子カルテ/ゲスト SSID",
            nics=(Nic("Gi0", "MGMT"),),
        )


def _main_building(h: _Hospital) -> None:
    """本館: radiology, ER, outpatients, lab, endoscopy, theatres, ICU/HCU, wards, offices."""
    b = "MAIN"
    nm = h.room(b, "B1", "核医学検査室")
    h.many("spect", 1, nm, "核医学", RAD, RAD, "ME-RAD")
    watch = h.room(b, "B1", "中央監視室 (防災センター)")
    h.many("office_pc", 2, watch, "中央監視室", GENERAL, GENERAL, "OA")
    _aps(h, (watch,), "B1")

    h.floor(b, "1F", 1)
    er = h.room(b, "1F", "救急外来 初療室")
    h.many("bsm_nk", 4, er, "ER", ER, ME, "ME-ER")
    h.many("cns_nk", 1, er, "ER", ER, ME, "ME-ER")
    h.many("vent_hamilton", 1, er, "ER", ER, ME, "ME-ER")
    h.many("ecg_nk", 1, er, "ER", ER, ME, "ME-ER")
    h.many("ehr_pc", 3, er, "ER", ER, IT, "EHR")
    treat = h.room(b, "1F", "救急処置室")
    h.many("pump_terumo", 3, treat, "ER", ER, ME, "ME-WLAN", wiring="wireless")
    h.many("syringe_terumo", 2, treat, "ER", ER, ME, "ME-WLAN", wiring="wireless")
    h.many("mobile_xray", 1, treat, "ER", RAD, RAD, "ME-WLAN", wiring="wireless")
    for room_name, key in (
        ("一般撮影室1", "dr_fujifilm"),
        ("一般撮影室2", "dr_konica"),
        ("一般撮影室3", "dr_shimadzu"),
        ("X線TV室", "fluoro"),
    ):
        place = h.room(b, "1F", room_name)
        h.many(key, 1, place, room_name, RAD, RAD, "ME-RAD")
        if key == "dr_konica":
            h.many("cr_old", 1, place, room_name, RAD, RAD, None, status="decommissioned")
    for room_name, key, console in (
        ("CT室1", "ct_canon", True),
        ("CT室2", "ct_siemens", True),
        ("MRI室1", "mri_philips", True),
        ("MRI室2", "mri_ge", False),
    ):
        place = h.room(b, "1F", room_name)
        h.many(key, 1, place, room_name, RAD, RAD, "ME-RAD")
        if console:
            h.many("console_pc", 1, place, room_name, RAD, RAD, "ME-RAD")
    angio = h.room(b, "1F", "血管撮影室")
    h.many("angio", 1, angio, "血管撮影室", RAD, RAD, "ME-RAD")
    h.many("bsm_philips", 1, angio, "血管撮影室", "循環器内科", ME, "ME-RAD")
    reading = h.room(b, "1F", "放射線科 読影室")
    h.many("viewer_pc", 3, reading, "読影室", RAD, IT, "EHR")
    rad_desk = h.room(b, "1F", "放射線科 受付")
    h.many("ehr_pc", 2, rad_desk, "放射線受付", RAD, IT, "EHR")
    reception = h.room(b, "1F", "総合受付・医事課")
    h.many("office_pc", 3, reception, "医事課", MEDAFFAIRS, IT, "OA")
    h.many("ehr_pc", 2, reception, "医事課", MEDAFFAIRS, IT, "EHR")
    h.many("printer", 1, reception, "医事課", MEDAFFAIRS, GENERAL, "OA")
    h.many("wristband_printer", 1, reception, "総合受付", MEDAFFAIRS, IT, "EHR")
    medical = h.room(b, "1F", "内科外来")
    h.many("ehr_pc", 3, medical, "内科外来", "内科", IT, "EHR")
    h.many("ecg_fukuda", 1, medical, "内科外来", "内科", ME, "ME-PHYS")
    surgical = h.room(b, "1F", "外科外来")
    h.many("ehr_pc", 2, surgical, "外科外来", "外科", IT, "EHR")
    _aps(h, (er, reception, medical, rad_desk), "本館1F")

    h.floor(b, "2F", 2)
    lab = h.room(b, "2F", "臨床検査室 (検体検査)")
    for key in ("lab_xn", "lab_cs", "lab_uf", "lab_hiscl", "lab_labospect", "lab_cobas"):
        h.many(key, 1, lab, "検体検査", LAB, LAB, "ME-LAB")
    h.many("label_printer", 1, lab, "採血室", LAB, LAB, "EHR")
    h.many("ehr_pc", 2, lab, "検体検査", LAB, IT, "EHR")
    physiology = h.room(b, "2F", "生理検査室")
    h.many("ecg_fukuda", 1, physiology, "生理検査", LAB, ME, "ME-PHYS")
    h.many("eeg_nk", 1, physiology, "生理検査", LAB, ME, "ME-PHYS")
    echo = h.room(b, "2F", "超音波検査室")
    for key in ("us_ge", "us_canon", "us_fujifilm", "us_philips"):
        h.many(key, 1, echo, "超音波", LAB, ME, "ME-PHYS")
    for number, key in ((1, "endoscope"), (2, "endoscope"), (3, "endoscope_fuji")):
        place = h.room(b, "2F", f"内視鏡室{number}")
        h.many(key, 1, place, f"内視鏡室{number}", ENDO, ME, "ME-ENDO")
    washing = h.room(b, "2F", "内視鏡洗浄室")
    h.many("endo_washer", 2, washing, "洗浄室", ENDO, ME, "ME-ENDO")
    mammo = h.room(b, "2F", "乳房撮影室")
    h.many("mammo", 1, mammo, "乳房撮影室", RAD, RAD, "ME-RAD")
    pharmacy = h.room(b, "2F", "薬剤部 調剤室")
    h.many("ehr_pc", 2, pharmacy, "薬剤部", PHARMACY, IT, "EHR")
    h.many("printer", 1, pharmacy, "薬剤部", PHARMACY, IT, "EHR")
    _aps(h, (lab, echo, pharmacy), "本館2F")

    h.floor(b, "3F", 3)
    theatres = []
    for number in range(1, 7):
        place = h.room(b, "3F", f"手術室 OR-{number}")
        theatres.append(place)
        where = f"OR-{number}"
        h.many("bsm_philips", 1, place, where, OR, ME, "ME-OR")
        h.many("anesthesia" if number % 2 else "anesthesia_ge", 1, place, where, OR, ME, "ME-OR")
        h.many("ehr_pc", 1, place, where, OR, IT, "EHR")
        if number == 6:
            h.many("angio_planned", 1, place, where, OR, RAD, None, status="planned")
    desk = h.room(b, "3F", "手術部 ナースステーション")
    h.many("cns_philips", 1, desk, "手術部", OR, ME, "ME-OR")
    h.many("ehr_pc", 1, desk, "手術部", OR, IT, "EHR")
    icu = h.room(b, "3F", "ICU (集中治療室)")
    h.many("bsm_nk", 6, icu, "ICU", ICU, ME, "ME-ICU")
    h.many("cns_nk", 1, icu, "ICU", ICU, ME, "ME-ICU")
    h.many("vent_draeger", 2, icu, "ICU", ICU, ME, "ME-ICU")
    h.many("vent_nk", 1, icu, "ICU", ICU, ME, "ME-ICU")
    h.many("lab_bga", 1, icu, "ICU", ICU, LAB, "ME-ICU")
    h.many("pump_terumo", 6, icu, "ICU", ICU, ME, "ME-WLAN", wiring="wireless")
    h.many("syringe_terumo", 4, icu, "ICU", ICU, ME, "ME-WLAN", wiring="wireless")
    h.many("ehr_pc", 2, icu, "ICU", ICU, IT, "EHR")
    h.many("ehr_laptop", 1, icu, "ICU", ICU, IT, "EHR", wiring="wireless")
    hcu = h.room(b, "3F", "HCU (高度治療室)")
    h.many("bsm_fukuda", 4, hcu, "HCU", ICU, ME, "ME-ICU")
    h.many("cns_fukuda", 1, hcu, "HCU", ICU, ME, "ME-ICU")
    h.many("vent_hamilton", 1, hcu, "HCU", ICU, ME, "ME-ICU")
    h.many("pump_jms", 3, hcu, "HCU", ICU, ME, "ME-WLAN", wiring="wireless")
    h.many("syringe_jms", 2, hcu, "HCU", ICU, ME, "ME-WLAN", wiring="wireless")
    h.many("ehr_pc", 1, hcu, "HCU", ICU, IT, "EHR")
    me_room = h.room(b, "3F", "臨床工学部 (ME室)")
    h.many("ehr_pc", 1, me_room, "ME室", ME, IT, "EHR")
    h.many("office_pc", 1, me_room, "ME室", ME, ME, "OA")
    store = h.room(b, "3F", "ME機器管理室")
    h.many("pump_terumo", 2, store, "予備", ME, ME, None, wiring="wireless", status="stored")
    h.many("syringe_terumo", 1, store, "予備", ME, ME, None, wiring="wireless", status="stored")
    _aps(h, (theatres[1], theatres[4], icu, hcu), "本館3F")

    for floor, level in (("4F", 4), ("5F", 5), ("6F", 6), ("7F", 7)):
        h.floor(b, floor, level)
    it_room = h.room(b, "7F", "医療情報部")
    h.many("ehr_pc", 2, it_room, "医療情報部", IT, IT, "EHR")
    h.many("office_pc", 2, it_room, "医療情報部", IT, IT, "OA")
    office = h.room(b, "7F", "総務課・経理課")
    h.many("office_pc", 4, office, "総務課", GENERAL, IT, "OA")
    h.many("printer", 1, office, "総務課", GENERAL, GENERAL, "OA")
    _aps(h, (it_room,), "本館7F")


def _east_building(h: _Hospital) -> None:
    """東館: dialysis and chemotherapy, health checks, a ward, conference and liaison office."""
    b = "EAST"
    closet = h.floor(b, "1F", 1, mdf=True)
    h.dist[b] = _distribution(h, b, closet)
    dialysis = h.room(b, "1F", "透析室")
    h.many("dialysis_nikkiso", 8, dialysis, "透析", DIA, ME, "ME-DIA")
    h.many("dialysis_toray", 4, dialysis, "透析", DIA, ME, "ME-DIA", start=9)
    h.many("ehr_pc", 2, dialysis, "透析室", DIA, IT, "EHR")
    chemo = h.room(b, "1F", "外来化学療法室")
    h.many("pump_terumo", 4, chemo, "化学療法", "腫瘍内科", ME, "ME-WLAN", wiring="wireless")
    h.many("ehr_pc", 1, chemo, "化学療法", "腫瘍内科", IT, "EHR")
    _aps(h, (dialysis, chemo), "東館1F")

    h.floor(b, "2F", 2)
    checkup = h.room(b, "2F", "健診センター")
    h.many("ecg_nk", 1, checkup, "健診", "健診センター", ME, "ME-PHYS")
    h.many("us_konica", 1, checkup, "健診", "健診センター", ME, "ME-PHYS")
    h.many("ehr_pc", 2, checkup, "健診", "健診センター", IT, "EHR")
    h.many("office_pc", 1, checkup, "健診", "健診センター", IT, "OA")
    rehab = h.room(b, "2F", "リハビリテーション室")
    h.many("ehr_pc", 1, rehab, "リハビリ", "リハビリテーション科", IT, "EHR")
    _aps(h, (checkup, rehab), "東館2F")

    h.floor(b, "3F", 3)
    h.floor(b, "4F", 4)
    hall = h.room(b, "4F", "講堂")
    liaison = h.room(b, "4F", "地域医療連携室")
    h.many("ehr_pc", 1, liaison, "地域連携", "地域医療連携室", IT, "EHR")
    h.many("office_pc", 2, liaison, "地域連携", "地域医療連携室", IT, "OA")
    _aps(h, (hall, liaison), "東館4F")


#: bedside monitoring vendor of a ward, in turn: (bedside monitor, central station)
WARD_MONITORS: Final = (
    ("bsm_nk_ward", "cns_nk"),
    ("bsm_fukuda_ward", "cns_fukuda"),
    ("bsm_philips_ward", "cns_philips"),
)


def _ward(h: _Hospital, building: str, floor: str, ward: str, department: str) -> None:
    """A ward: nurse station, observation room and treatment room with their equipment."""
    bedside, central = WARD_MONITORS[h.wards % len(WARD_MONITORS)]
    pump, syringe = (
        ("pump_terumo", "syringe_terumo") if h.wards % 2 == 0 else ("pump_jms", "syringe_jms")
    )
    h.wards += 1
    station = h.room(building, floor, f"{ward}病棟 ナースステーション")
    observation = h.room(building, floor, f"{ward}病棟 重症観察室")
    treatment = h.room(building, floor, f"{ward}病棟 処置室")
    h.many(central, 1, station, ward, department, ME, "ME-WARD")
    h.many(bedside, 2, observation, ward, department, ME, "ME-WARD")
    if department == "産婦人科":
        h.many("fetal", 2, observation, ward, department, ME, "ME-WARD")
    if department == "呼吸器内科":
        h.many("vent_nk", 1, observation, ward, department, ME, "ME-WARD")
    h.many(pump, 2, treatment, ward, department, ME, "ME-WLAN", wiring="wireless")
    h.many(syringe, 1, treatment, ward, department, ME, "ME-WLAN", wiring="wireless")
    h.many("ehr_pc", 2, station, ward, department, IT, "EHR")
    h.many("ehr_laptop", 1, station, ward, department, IT, "EHR", wiring="wireless")
    h.many("printer", 1, station, ward, department, IT, "EHR")
    h.many("nurse_call", 1, station, ward, department, GENERAL, "EHR")
    _aps(h, (station, treatment), f"{ward}病棟")


def _ward_slots() -> Iterator[tuple[str, str, str, str]]:
    """Where wards go: the standard ones, then new ward buildings of ten floors, two per floor."""
    yield from STANDARD_WARDS
    number = 0
    while True:
        number += 1
        code = f"W{number:03d}"
        for level in range(1, SCALED_FLOORS + 1):
            for side, wing in enumerate(("東", "西")):
                department = SCALED_DEPARTMENTS[(number * 20 + level * 2 + side) % 10]
                yield (code, f"{level}F", f"{number}号館{level}{wing}", department)


def _external(h: _Hospital, tags: dict[str, str]) -> list[Json]:
    """The internet uplink, a remote-maintenance line per vendor, the regional network."""
    connections: list[Json] = [
        {
            "name": "インターネット接続 (FTTH)",
            "kind": "internet",
            "provider": "みなと光ネット (架空ISP)",
            "method": "broadband",
            "peer": "203.0.113.1",
            "settings": "PPPoE 固定IP1個。境界FWで外向きはプロキシ・メール中継・WSUS同期のみ許可、"
            "内向きはVPN終端と保守VPNのみ",
            "through": [tags["edge_router"], tags["edge_fw"]],
            "reaches": sorted([tags["proxy01"], tags["mail-relay01"], tags["jump01"]]),
        },
        {
            "name": "地域医療連携ネットワーク",
            "kind": "closed_network",
            "provider": "みなと地域医療連携協議会 (架空)",
            "method": "leased_line",
            "peer": "198.51.100.65",
            "settings": (
                "閉域網 (IP-VPN)。連携ゲートウェイのHTTPSのみ許可。公開範囲は同意取得済み患者"
            ),
            "through": [tags["regional_router"], tags["edge_fw"]],
            "reaches": [tags["regional_gw"]],
        },
        {
            "name": "附属みなとクリニック 拠点間VPN",
            "kind": "site_to_site",
            "provider": "みなと光ネット (架空ISP)",
            "method": "ipsec_vpn",
            "peer": "203.0.113.200",
            "settings": "IKEv2 / AES-256-GCM、事前共有鍵は年1回更新。電子カルテ参照のみ",
            "through": [tags["edge_router"], tags["edge_fw"]],
            "reaches": sorted([tags["ehr-ap01"], tags["ehr-ap02"], tags["pacs-web01"]]),
        },
    ]
    for index, (vendor, method) in enumerate(cat.REMOTE_VENDORS):
        maker = cat.VENDORS[vendor].name
        reaches = sorted(set(h.remote[vendor]))
        connections.append(
            {
                "name": f"{maker} リモート保守",
                "kind": "remote_maintenance",
                "provider": maker,
                "method": method,
                "peer": f"203.0.113.{10 + index}",
                "settings": "接続は保守依頼ごとに医療情報部が有効化 (平日9-18時)。"
                "証明書+ワンタイムパスワード認証、宛先は当該メーカー機器のみ、操作ログ保管1年",
                "through": [tags[f"vpn_{vendor}"], tags["edge_fw"], tags["med_fw"]],
                "reaches": reaches,
            }
        )
    return connections


def build_demo_document(*, assets: int = 0, seed: int = 1) -> dict[str, Any]:
    """The demo register as a document of docs/register-format.md.

    ``assets=0`` gives the standard hospital (about 380 assets in two buildings). A positive
    ``assets`` keeps the same hospital but adds or drops wards, opening new ten-floor ward
    buildings as needed, until the register holds about that many assets (never fewer than the
    hospital's infrastructure and one ward, about 290). ``seed`` varies serial numbers and
    software versions; the same arguments always give the same document.
    """
    if assets < 0:
        raise ValueError("assets must be 0 (the standard demo) or a positive count")
    # Hundreds of thousands of small dicts and lists, none of them in a reference cycle: the
    # cyclic collector would only rescan them over and over (a third of the time at 100k).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(assets, seed)
    finally:
        if collecting:
            gc.enable()


def _build(assets: int, seed: int) -> dict[str, Any]:
    """First pass: places and assets, ward by ward up to the target; then wiring and addresses."""
    h = _Hospital(seed)
    tags = _infrastructure(h)
    _main_building(h)
    _east_building(h)
    for building, floor, ward, department in _ward_slots():
        if assets == 0 and h.wards == len(STANDARD_WARDS):
            break
        if assets > 0 and h.wards > 0 and h.projected() >= assets:
            break
        if building not in h.buildings:
            h.building(building, f"病棟{building[1:].lstrip('0')}号館")
            for level in range(1, SCALED_FLOORS + 1):
                closet = h.floor(building, f"{level}F", level, mdf=level == 1)
                if level == 1:
                    h.dist[building] = _distribution(h, building, closet)
            h.segment("GUEST", building)
        _ward(h, building, floor, ward, department)
    for building in ("MAIN", "EAST"):
        h.segment("GUEST", building)
    h.finish_access_switches()
    vlans, subnets = h.address()
    doc = h.document(vlans, subnets, _external(h, tags))
    doc["flows"] = demo_flows(doc)
    return doc
