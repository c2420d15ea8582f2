"""Import a register document: validate everything first, then write it in one transaction.

The importer works in two phases. Planning reads the whole register into memory, overlays the
document on it and checks the result (rooms exist, addresses are unique in their subnet, hosts
are physical servers, ...), collecting every error. Only when there is none does applying
begin: one ``transaction.atomic()``, bulk inserts and updates in batches, and history rows
(:class:`~medshield.core.models.ObjectChange`) for exactly the records that changed. Records
whose values are unchanged are not written, so importing a file twice changes nothing.

Every record type is written with ``bulk_create``/``bulk_update`` in batches (a big hospital
has hundreds of thousands of assets, interfaces and addresses, and thousands of rooms), and the
history rows are built with :func:`~medshield.core.models.change_record` from objects already in
memory and bulk-inserted too. Deletions go through querysets, whose history the deletion
receivers of medshield.core write.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medshield.assets.choices import (
    CLINICAL_KINDS,
    AssetKind,
    AssetStatus,
    Criticality,
    NetworkRole,
)
from medshield.assets.models import Asset, Building, Floor, Rack, Room, Site, refresh_derived
from medshield.core.actor import Actor, acting_as, current_actor
from medshield.core.models import (
    ChangeAction,
    ChangeLoggedModel,
    ObjectChange,
    change_record,
    insert_changes,
)
from medshield.core.textsafety import unsafe_reason
from medshield.network.choices import CableType, ConnectionKind, ConnectionMethod, Transport
from medshield.network.models import (
    VLAN,
    Cable,
    ExternalConnection,
    Flow,
    Interface,
    IPAddress,
    Subnet,
    Zone,
    normalise_mac,
)
from medshield.register.errors import ImportRejected, RecordError, SourceMap
from medshield.register.exporter import FORMAT_NAME, FORMAT_VERSION
from medshield.register.vocabulary import parse_bool, parse_choice, split_list, split_place

#: rows per INSERT/UPDATE statement; SQLite's variable limit is handled by Django itself
BATCH = 1000

#: the object types an import reports on, in the order they are applied
OBJECT_TYPES: tuple[str, ...] = (
    "sites",
    "buildings",
    "floors",
    "rooms",
    "racks",
    "zones",
    "vlans",
    "subnets",
    "assets",
    "interfaces",
    "ip_addresses",
    "cabling",
    "external_connections",
    "flows",
)

#: an import that writes at least this many records refreshes the planner's statistics
ANALYZE_AFTER = 5000

ACTIONS: tuple[str, ...] = ("created", "updated", "unchanged", "deleted")

Progress = Callable[[str, int, int], None]

#: the free-text fields of an asset (all but notes are length-limited by the model)
_ASSET_TEXT = (
    "name",
    "manufacturer",
    "model",
    "serial_number",
    "software_version",
    "department",
    "owner",
    "support_contact",
    "hostname",
    "role",
    "notes",
)
_ASSET_CHOICES: dict[str, type[models.TextChoices]] = {
    "kind": AssetKind,
    "status": AssetStatus,
    "criticality": Criticality,
    "network_role": NetworkRole,
}

_MISSING: Any = object()

M = TypeVar("M", bound=models.Model)


@dataclass
class ImportResult:
    """How many records of each type an import created, updated, left unchanged or deleted."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: dict.fromkeys(ACTIONS, 0) for t in OBJECT_TYPES}
    )
    dry_run: bool = False

    def add(self, object_type: str, action: str, n: int = 1) -> None:
        self.counts[object_type][action] += n

    def total(self, action: str) -> int:
        """The number of records of every type with ``action`` (created, updated...)."""
        return sum(c[action] for c in self.counts.values())

    @property
    def created(self) -> int:
        return self.total("created")

    @property
    def updated(self) -> int:
        return self.total("updated")

    @property
    def deleted(self) -> int:
        return self.total("deleted")

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        """(object type, created, updated, unchanged, deleted) for each type."""
        return [(t, *(self.counts[t][a] for a in ACTIONS)) for t in OBJECT_TYPES]  # type: ignore[misc]


def _key(value: Any) -> str:
    """The comparable form of a code or name: NFKC (full-width to ASCII) and stripped."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def _text(value: Any) -> str | None:
    """A JSON or cell value as text, or None when it cannot be text (a list, an object)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str):
        return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(_key(value))
        except ValueError:
            return None
    return None


def _str_list(value: Any) -> list[str] | None:
    """A list of strings from a JSON list or a cell of separated values."""
    if value is None:
        return []
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [_key(v) for v in value if _key(v)]
    return None


class _SubnetIndex:
    """Finds the narrowest subnet holding an address in O(prefix lengths), not O(subnets)."""

    def __init__(self, subnets: Iterable[tuple[str, Subnet]]) -> None:
        table: dict[tuple[int, int], dict[int, Subnet]] = defaultdict(dict)
        for prefix, subnet in subnets:
            net = ipaddress.ip_network(prefix)
            table[(net.version, net.prefixlen)][int(net.network_address)] = subnet
        self._lengths: dict[int, list[tuple[int, dict[int, Subnet]]]] = defaultdict(list)
        for (version, length), nets in table.items():
            self._lengths[version].append((length, nets))
        for lengths in self._lengths.values():
            lengths.sort(key=lambda item: -item[0])

    def narrowest(self, address: str) -> Subnet | None:
        ip = ipaddress.ip_address(address)
        bits = ip.max_prefixlen
        value = int(ip)
        for length, nets in self._lengths.get(ip.version, ()):
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            found = nets.get(value & mask)
            if found is not None:
                return found
        return None


Show = dict[str, Callable[[Any], Any]]


def _changes(
    before: dict[str, Any],
    after: dict[str, Any],
    show: Show,
    show_old: Show | None = None,
) -> dict[str, list[Any]]:
    """The history's {field: [old, new]} for two snapshots, like ChangeLoggedModel.diff.

    ``show`` turns the raw id of a foreign key into the text the history shows, from objects
    already in memory (the model's own display_value would run one query per value);
    ``show_old`` does it for old values when they read differently (a host renamed meanwhile).
    """

    def display(table: Show, name: str, raw: Any) -> Any:
        if raw is None or raw == "" or name not in table:
            return raw
        return table[name](raw)

    old_table = show if show_old is None else show_old
    return {
        name: [display(old_table, name, before.get(name)), display(show, name, value)]
        for name, value in after.items()
        if before.get(name) != value
    }


def _subnet_changes(ip: IPAddress, subnet: Subnet | None) -> bool:
    """Whether placing ``ip`` in ``subnet`` (perhaps not saved yet) moves it."""
    if subnet is None:
        return ip.subnet_id is not None
    return subnet.pk is None or subnet.pk != ip.subnet_id


class _Plan:
    """The validated difference between the register and a document, ready to apply."""

    def __init__(self, doc: Any, source: SourceMap | None) -> None:
        self.doc = doc
        self.source = source
        self.errors: list[RecordError] = list(source.errors) if source else []
        self.result = ImportResult()
        # places, zones, VLANs, subnets, connections: new or changed objects to write
        self.to_save: dict[str, list[ChangeLoggedModel]] = defaultdict(list)

    # --- errors --------------------------------------------------------------------------------
    def error(self, path: str, name: str, reason: str) -> None:
        if self.source is not None:
            self.errors.append(self.source.locate(path, name, reason))
        else:
            self.errors.append(RecordError(path, name, reason))

    def where(self, path: str) -> str:
        """How to name another record in a message: "row 5" or "assets[4]"."""
        if self.source is not None:
            location = self.source.find(path)
            if location is not None:
                return self.source.describe(location)
        return path

    def records(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """(path, record) for each object of the top-level list ``key``."""
        raw = self.doc.get(key, [])
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.error(key, "", _("must be a list"))
            return []
        out = []
        for i, record in enumerate(raw):
            if isinstance(record, dict):
                out.append((f"{key}[{i}]", record))
            else:
                self.error(f"{key}[{i}]", "", _("must be an object"))
        return out

    def sub_records(self, record: dict[str, Any], key: str, path: str) -> list[tuple[str, Any]]:
        raw = record.get(key) or []
        if not isinstance(raw, list):
            self.error(path, key, _("must be a list"))
            return []
        out = []
        for i, sub in enumerate(raw):
            if isinstance(sub, dict):
                out.append((f"{path}.{key}[{i}]", sub))
            else:
                self.error(f"{path}.{key}[{i}]", "", _("must be an object"))
        return out

    # --- value checks --------------------------------------------------------------------------
    def text(
        self,
        record: dict[str, Any],
        name: str,
        path: str,
        model: type[models.Model],
        *,
        required: bool = False,
        attname: str | None = None,
    ) -> Any:
        """The text value of ``name`` checked against the model field; _MISSING when absent.

        ``required`` makes a blank value an error (a missing key is the caller's business).
        """
        if name not in record:
            return _MISSING
        value = _text(record[name])
        if value is None:
            self.error(path, name, _("must be text"))
            return _MISSING
        if required and not value.strip():
            self.error(path, name, _("is required"))
            return _MISSING
        model_field = model._meta.get_field(attname or name)
        unsafe = unsafe_reason(value, multiline=isinstance(model_field, models.TextField))
        if unsafe is not None:
            self.error(path, name, unsafe)
            return _MISSING
        max_length = model_field.max_length
        if max_length is not None and len(value) > max_length:
            self.error(path, name, _("is longer than {n} characters").format(n=max_length))
            return _MISSING
        return value

    def choice(
        self,
        record: dict[str, Any],
        name: str,
        path: str,
        choices: type[models.TextChoices],
        *,
        blank: bool,
    ) -> Any:
        """The stored code of a choice value (code, English or Japanese label).

        _MISSING when the key is absent or the value wrong (then with an error).
        """
        if name not in record:
            return _MISSING
        raw = _text(record[name])
        if raw is None:
            self.error(path, name, _("must be text"))
            return _MISSING
        if not raw.strip():
            if blank:
                return ""
            self.error(path, name, _("is required"))
            return _MISSING
        value = parse_choice(choices, raw)
        if value is None:
            self.error(
                path,
                name,
                _("unknown value {value!r}; expected one of {choices}").format(
                    value=raw, choices=", ".join(choices.values)
                ),
            )
            return _MISSING
        return value

    def boolean(self, record: dict[str, Any], name: str, path: str) -> Any:
        if name not in record:
            return _MISSING
        value = parse_bool(record[name])
        if value is None:
            self.error(
                path,
                name,
                _("{value!r} is not a yes/no value (true/false, はい/いいえ, ○/×)").format(
                    value=record[name]
                ),
            )
            return _MISSING
        return value

    def integer(self, record: dict[str, Any], name: str, path: str) -> Any:
        if name not in record or record[name] in (None, ""):
            return _MISSING
        value = _int(record[name])
        if value is None:
            self.error(path, name, _("{value!r} is not a whole number").format(value=record[name]))
            return _MISSING
        return value

    def key_of(self, record: dict[str, Any], name: str, path: str) -> str | None:
        """A required key value (code, tag, name), normalised; None (and an error) when blank."""
        value = _text(record.get(name))
        if value is None or not _key(value):
            self.error(path, name, _("is required"))
            return None
        if (unsafe := unsafe_reason(value)) is not None:
            self.error(path, name, unsafe)
            return None
        return _key(value)

    def only_site(self, path: str, name: str) -> str | None:
        """The register's only site, for places and VLANs written without one."""
        if len(self.sites) == 1:
            return next(iter(self.sites))
        reason = _("name the site: the register has {n} sites").format(n=len(self.sites))
        self.error(path, name, reason)
        return None

    def update(
        self,
        object_type: str,
        obj: ChangeLoggedModel,
        values: dict[str, Any],
        *,
        created: bool,
    ) -> None:
        """Set ``values`` on a place, zone, VLAN, subnet or connection; queue it if it changed."""
        unsaved_reference = False
        for name, value in values.items():
            if value is not _MISSING:
                setattr(obj, name, value)
                # a reference to a record this import creates: the snapshot cannot show it yet
                unsaved_reference |= isinstance(value, models.Model) and value.pk is None
        if created:
            self.result.add(object_type, "created")
            self.to_save[object_type].append(obj)
        elif unsaved_reference or obj.snapshot() != obj._loaded:  # type: ignore[attr-defined]
            self.result.add(object_type, "updated")
            self.to_save[object_type].append(obj)
        else:
            self.result.add(object_type, "unchanged")

    # --- planning ------------------------------------------------------------------------------
    def plan(self) -> None:
        doc = self.doc
        if not isinstance(doc, dict):
            self.error("", "", _("the register file must hold one JSON object"))
            return
        if doc.get("format", FORMAT_NAME) != FORMAT_NAME:
            self.error("", "format", _("expected {name!r}").format(name=FORMAT_NAME))
        if doc.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            self.error(
                "", "version", _("this medshield reads version {v}").format(v=FORMAT_VERSION)
            )
        self.load()
        self.plan_places()
        self.plan_zones()
        self.plan_vlans()
        self.plan_subnets()
        self.plan_assets()
        self.plan_interfaces()
        self.plan_addresses()
        self.plan_cabling()
        self.plan_connections()
        self.plan_flows()

    def load(self) -> None:
        """Read the register into memory, keyed the way the document names things."""
        self.sites: dict[str, Site] = {_key(s.code): s for s in Site.objects.all()}
        self.buildings: dict[tuple[str, ...], Building] = {}
        for b in Building.objects.select_related("site"):
            self.buildings[(_key(b.site.code), _key(b.code))] = b
        self.floors: dict[tuple[str, ...], Floor] = {}
        for f in Floor.objects.select_related("building__site"):
            self.floors[(_key(f.building.site.code), _key(f.building.code), _key(f.name))] = f
        self.rooms: dict[tuple[str, ...], Room] = {}
        for r in Room.objects.select_related("floor__building__site"):
            fl = r.floor
            self.rooms[
                (_key(fl.building.site.code), _key(fl.building.code), _key(fl.name), _key(r.code))
            ] = r
        self.room_by_id = {r.pk: r for r in self.rooms.values()}
        self.racks: dict[tuple[str, ...], Rack] = {}
        for rk in Rack.objects.all():
            room = self.room_by_id[rk.room_id]
            rk.room = room
            self.racks[(*self.room_key(room), _key(rk.name))] = rk
        self.rack_by_id = {rk.pk: rk for rk in self.racks.values()}
        self.zones: dict[str, Zone] = {_key(z.name): z for z in Zone.objects.all()}
        site_by_id = {s.pk: s for s in self.sites.values()}
        self.vlans: dict[tuple[str, int], VLAN] = {}
        for v in VLAN.objects.all():
            v.site = site_by_id[v.site_id]
            self.vlans[(_key(v.site.code), v.vid)] = v
        vlan_by_id = {v.pk: v for v in self.vlans.values()}
        self.subnets: dict[str, Subnet] = {}
        for s in Subnet.objects.all():
            if s.vlan_id:
                s.vlan = vlan_by_id[s.vlan_id]
            self.subnets[str(ipaddress.ip_network(s.prefix, strict=False))] = s

        self.assets: dict[str, Asset] = {a.asset_tag: a for a in Asset.objects.all()}
        self.asset_by_id: dict[int, Asset] = {a.pk: a for a in self.assets.values()}
        self.ifaces_of: dict[int, dict[str, Interface]] = defaultdict(dict)
        self.iface_by_id: dict[int, Interface] = {}
        for iface in Interface.objects.all():
            iface.asset = self.asset_by_id[iface.asset_id]
            self.ifaces_of[iface.asset_id][iface.name] = iface
            self.iface_by_id[iface.pk] = iface
        self.ips: list[IPAddress] = []
        for ip in IPAddress.objects.all():
            ip.interface = self.iface_by_id[ip.interface_id]
            self.ips.append(ip)
        self.cables: list[Cable] = []
        for cable in Cable.objects.all():
            cable.a_interface = self.iface_by_id[cable.a_interface_id]
            cable.b_interface = self.iface_by_id[cable.b_interface_id]
            self.cables.append(cable)

    @staticmethod
    def room_key(room: Room) -> tuple[str, str, str, str]:
        floor = room.floor
        return (
            _key(floor.building.site.code),
            _key(floor.building.code),
            _key(floor.name),
            _key(room.code),
        )

    def plan_places(self) -> None:
        seen: set[tuple[str, ...]] = set()

        def first(key: tuple[str, ...], path: str, name: str) -> bool:
            if key in seen:
                self.error(path, name, _("{value} appears twice in the file").format(value=key[-1]))
                return False
            seen.add(key)
            return True

        for spath, srec in self.records("places"):
            code = self.key_of(srec, "code", spath)
            if code is None or not first(("site", code), spath, "code"):
                continue
            try:
                validate_unicode_slug(code)
            except ValidationError:
                self.error(spath, "code", _("use letters, digits, - and _ only"))
                continue
            site = self.sites.get(code)
            created = site is None
            if site is None:
                site = self.sites[code] = Site(code=code)
            name = self.text(srec, "name", spath, Site, required=True)
            if created and name is _MISSING and "name" not in srec:
                self.error(spath, "name", _("is required"))
            self.update(
                "sites",
                site,
                {"name": name, "address": self.text(srec, "address", spath, Site)},
                created=created,
            )
            for bpath, brec in self.sub_records(srec, "buildings", spath):
                bcode = self.key_of(brec, "code", bpath)
                if bcode is None or not first(("building", code, bcode), bpath, "code"):
                    continue
                try:
                    validate_unicode_slug(bcode)
                except ValidationError:
                    self.error(bpath, "code", _("use letters, digits, - and _ only"))
                    continue
                building = self.buildings.get((code, bcode))
                created = building is None
                if building is None:
                    building = self.buildings[(code, bcode)] = Building(site=site, code=bcode)
                name = self.text(brec, "name", bpath, Building, required=True)
                if created and "name" not in brec:
                    self.error(bpath, "name", _("is required"))
                self.update("buildings", building, {"name": name}, created=created)
                for fpath, frec in self.sub_records(brec, "floors", bpath):
                    fname = self.key_of(frec, "name", fpath)
                    if fname is None or not first(("floor", code, bcode, fname), fpath, "name"):
                        continue
                    floor = self.floors.get((code, bcode, fname))
                    created = floor is None
                    if floor is None:
                        floor = self.floors[(code, bcode, fname)] = Floor(
                            building=building, name=fname
                        )
                    level = self.integer(frec, "level", fpath)
                    if created and level is _MISSING:
                        self.error(fpath, "level", _("is required"))
                    self.update("floors", floor, {"level": level}, created=created)
                    for rpath, rrec in self.sub_records(frec, "rooms", fpath):
                        rcode = self.key_of(rrec, "code", rpath)
                        rkey = (code, bcode, fname, rcode or "")
                        if rcode is None or not first(("room", *rkey), rpath, "code"):
                            continue
                        room = self.rooms.get(rkey)
                        created = room is None
                        if room is None:
                            room = self.rooms[rkey] = Room(floor=floor, code=rcode)
                        name = self.text(rrec, "name", rpath, Room, required=True)
                        if created and "name" not in rrec:
                            self.error(rpath, "name", _("is required"))
                        self.update("rooms", room, {"name": name}, created=created)
                        for kpath, krec in self.sub_records(rrec, "racks", rpath):
                            kname = self.key_of(krec, "name", kpath)
                            kkey = (*rkey, kname or "")
                            if kname is None or not first(("rack", *kkey), kpath, "name"):
                                continue
                            rack = self.racks.get(kkey)
                            created = rack is None
                            if rack is None:
                                rack = self.racks[kkey] = Rack(room=room, name=kname)
                            height = self.integer(krec, "u_height", kpath)
                            if height is not _MISSING and not 1 <= height <= 100:
                                self.error(kpath, "u_height", _("must be between 1 and 100"))
                                height = _MISSING
                            self.update("racks", rack, {"u_height": height}, created=created)

    def plan_zones(self) -> None:
        seen: dict[str, str] = {}
        for path, rec in self.records("zones"):
            name = self.key_of(rec, "name", path)
            if name is None:
                continue
            if name in seen:
                self.error(path, "name", _("{value} appears twice in the file").format(value=name))
                continue
            seen[name] = path
            if len(name) > 100:
                self.error(path, "name", _("is longer than {n} characters").format(n=100))
                continue
            zone = self.zones.get(name)
            created = zone is None
            if zone is None:
                zone = self.zones[name] = Zone(name=name)
            self.update(
                "zones",
                zone,
                {"description": self.text(rec, "description", path, Zone)},
                created=created,
            )

    def plan_vlans(self) -> None:
        seen: set[tuple[str, int]] = set()
        for path, rec in self.records("vlans"):
            site_code = _key(_text(rec.get("site")) or "")
            if not site_code:
                site_code = self.only_site(path, "site") or ""
                if not site_code:
                    continue
            if site_code not in self.sites:
                self.error(path, "site", _("unknown site {code}").format(code=site_code))
                continue
            vid = self.integer(rec, "vid", path)
            if vid is _MISSING:
                if "vid" not in rec or rec["vid"] in (None, ""):
                    self.error(path, "vid", _("is required"))
                continue
            if not 1 <= vid <= 4094:
                self.error(path, "vid", _("A VLAN ID is between 1 and 4094."))
                continue
            if (site_code, vid) in seen:
                self.error(path, "vid", _("{value} appears twice in the file").format(value=vid))
                continue
            seen.add((site_code, vid))
            vlan = self.vlans.get((site_code, vid))
            created = vlan is None
            if vlan is None:
                vlan = self.vlans[(site_code, vid)] = VLAN(site=self.sites[site_code], vid=vid)
            name = self.text(rec, "name", path, VLAN, required=True)
            if created and "name" not in rec:
                self.error(path, "name", _("is required"))
            self.update("vlans", vlan, {"name": name}, created=created)

    def plan_subnets(self) -> None:
        seen: set[str] = set()
        for path, rec in self.records("subnets"):
            raw = _text(rec.get("prefix"))
            if raw is None or not raw.strip():
                self.error(path, "prefix", _("is required"))
                continue
            try:
                network = ipaddress.ip_network(_key(raw), strict=True)
            except ValueError as exc:
                self.error(
                    path,
                    "prefix",
                    _("{value!r} is not an IP prefix: {why}").format(value=raw, why=exc),
                )
                continue
            prefix = str(network)
            if prefix in seen:
                reason = _("{value} appears twice in the file").format(value=prefix)
                self.error(path, "prefix", reason)
                continue
            seen.add(prefix)
            subnet = self.subnets.get(prefix)
            created = subnet is None
            if subnet is None:
                subnet = self.subnets[prefix] = Subnet(prefix=prefix)
            values: dict[str, Any] = {
                "name": self.text(rec, "name", path, Subnet),
                "description": self.text(rec, "description", path, Subnet),
            }
            if "vlan" in rec:
                vid = self.integer(rec, "vlan", path)
                if rec["vlan"] in (None, ""):
                    values["vlan"] = None
                elif vid is not _MISSING:
                    site_code = _key(_text(rec.get("site")) or "")
                    if not site_code:
                        site_code = self.only_site(path, "site") or ""
                    vlan = self.vlans.get((site_code, vid))
                    if vlan is None and site_code:
                        self.error(
                            path,
                            "vlan",
                            _("unknown VLAN {vid} at site {site}").format(vid=vid, site=site_code),
                        )
                    values["vlan"] = vlan if vlan is not None else _MISSING
            if "zone" in rec:
                zone_name = _key(_text(rec["zone"]) or "")
                if not zone_name:
                    values["zone"] = None
                elif zone_name in self.zones:
                    values["zone"] = self.zones[zone_name]
                else:
                    self.error(path, "zone", _("unknown zone {name}").format(name=zone_name))
            if "gateway" in rec:
                gateway = _key(_text(rec["gateway"]) or "")
                if not gateway:
                    values["gateway"] = None
                else:
                    try:
                        gw = ipaddress.ip_address(gateway)
                    except ValueError:
                        self.error(
                            path,
                            "gateway",
                            _("{value!r} is not an IP address").format(value=gateway),
                        )
                    else:
                        if gw not in network:
                            self.error(path, "gateway", _("The gateway lies outside the subnet."))
                        else:
                            values["gateway"] = str(gw)
            self.update("subnets", subnet, values, created=created)

    # --- assets ----------------------------------------------------------------------------
    def resolve_place(self, raw: Any, path: str) -> tuple[Room | None, Rack | None] | None:
        """(room, rack) for a place given as an object or a "building/floor/room" string.

        None (with an error recorded) when the place is wrong.
        """
        if raw is None:
            return (None, None)
        name = "place"
        if isinstance(raw, str):
            if not raw.strip():
                return (None, None)
            parts = [_key(p) for p in split_place(raw)]
            if len(parts) == 3:
                site, building, floor, room, rack = "", *parts, ""
            elif len(parts) in (4, 5):
                site, building, floor, room = parts[:4]
                rack = parts[4] if len(parts) == 5 else ""
            else:
                self.error(
                    path,
                    name,
                    _(
                        "{value!r} is not building/floor/room or site/building/floor/room[/rack]"
                    ).format(value=raw),
                )
                return None
            if not all((building, floor, room)):
                self.error(path, name, _("{value!r} has an empty part").format(value=raw))
                return None
            fields = {k: name for k in ("site", "building", "floor", "room", "rack")}
            ppath = path
        elif isinstance(raw, dict):
            values = {}
            for part in ("site", "building", "floor", "room", "rack"):
                text = _text(raw.get(part))
                values[part] = _key(text) if text is not None else ""
            if not any(values.values()):
                return (None, None)
            site, building, floor, room, rack = (
                values[p] for p in ("site", "building", "floor", "room", "rack")
            )
            fields = {k: k for k in values}
            ppath = f"{path}.place"
            missing = [p for p in ("building", "floor", "room") if not values[p]]
            if missing:
                for part in missing:
                    self.error(ppath, part, _("a place needs a building, a floor and a room"))
                return None
        else:
            self.error(path, name, _("must be an object or a building/floor/room text"))
            return None
        if not site:
            site = self.only_site(ppath, fields["site"]) or ""
            if not site:
                return None
        found = self.rooms.get((site, building, floor, room))
        if found is None:
            self.error(
                ppath,
                fields["room"],
                _("unknown place {place}: no such room in the register or the file").format(
                    place="/".join((site, building, floor, room))
                ),
            )
            return None
        found_rack = None
        if rack:
            found_rack = self.racks.get((site, building, floor, room, rack))
            if found_rack is None:
                self.error(
                    ppath,
                    fields["rack"],
                    _("unknown rack {rack} in {place}").format(
                        rack=rack, place="/".join((site, building, floor, room))
                    ),
                )
                return None
        return (found, found_rack)

    def plan_assets(self) -> None:
        """Overlay each asset record on the register's asset (or a new one) and check it."""
        self.file_assets: list[tuple[str, dict[str, Any], Asset]] = []
        self.new_assets: list[Asset] = []
        self.place_of: dict[int, tuple[Room | None, Rack | None]] = {}
        self.host_of: dict[int, str | None] = {}
        seen: dict[str, str] = {}
        for path, rec in self.records("assets"):
            tag = self.key_of(rec, "asset_tag", path)
            if tag is None:
                continue
            if len(tag) > 64:
                self.error(path, "asset_tag", _("is longer than {n} characters").format(n=64))
                continue
            try:
                # The model's own rules (no "/" or spaces, "new" reserved), one way for all paths.
                for validate in Asset._meta.get_field("asset_tag").validators:
                    validate(tag)
                if tag.lower() == "new":
                    raise ValidationError(_("'new' is reserved; choose another asset tag."))
            except ValidationError as exc:
                self.error(path, "asset_tag", " ".join(exc.messages))
                continue
            if tag in seen:
                self.error(
                    path,
                    "asset_tag",
                    _("{tag} appears twice in the file (also at {other})").format(
                        tag=tag, other=self.where(seen[tag])
                    ),
                )
                continue
            seen[tag] = path
            asset = self.assets.get(tag)
            if asset is None:
                asset = Asset(asset_tag=tag)
                self.assets[tag] = asset
                self.new_assets.append(asset)
                for required in ("name", "kind"):
                    if required not in rec:
                        self.error(path, required, _("is required"))
            for name in _ASSET_TEXT:
                value = self.text(rec, name, path, Asset, required=name == "name")
                if value is not _MISSING:
                    setattr(asset, name, value)
            for name, choices in _ASSET_CHOICES.items():
                blank = name in ("criticality", "network_role", "status")
                value = self.choice(rec, name, path, choices, blank=blank)
                if name == "status" and value == "":
                    value = _MISSING  # a blank status cell keeps the current status
                if value is not _MISSING:
                    setattr(asset, name, value)
            for name in ("handles_patient_data", "is_virtual"):
                value = self.boolean(rec, name, path)
                if value is not _MISSING:
                    setattr(asset, name, value)
            key = id(asset)
            if "place" in rec:
                place = self.resolve_place(rec["place"], path)
                if place is not None:
                    self.place_of[key] = place
            if "host" in rec:
                host = _text(rec["host"])
                if host is None:
                    self.error(path, "host", _("must be an asset tag"))
                else:
                    self.host_of[key] = _key(host) or None
            self.file_assets.append((path, rec, asset))

        # Rules of Asset.clean(), on the values the import would leave.
        for path, _rec, asset in self.file_assets:
            if asset.network_role and asset.kind != AssetKind.NETWORK_DEVICE:
                self.error(path, "network_role", _("Only a network device has a network role."))
            if asset.kind == AssetKind.NETWORK_DEVICE and not asset.network_role:
                self.error(path, "network_role", _("Say what kind of network device this is."))
            if asset.is_virtual and asset.kind != AssetKind.SERVER:
                self.error(path, "is_virtual", _("Only a server can be virtual."))
            if asset.criticality and asset.kind not in CLINICAL_KINDS:
                self.error(
                    path,
                    "criticality",
                    _("Clinical criticality applies to medical devices and systems only."),
                )
            if id(asset) in self.host_of:
                host_tag = self.host_of[id(asset)]
            else:
                host_tag = self.asset_by_id[asset.host_id].asset_tag if asset.host_id else None
            if host_tag is None:
                continue
            host = self.assets.get(host_tag)
            if host is None:
                self.error(path, "host", _("unknown asset {tag}").format(tag=host_tag))
            elif not asset.is_virtual:
                self.error(path, "host", _("Only a virtual server runs on a host."))
            elif host is asset:
                self.error(path, "host", _("A server cannot be its own host."))
            elif host.is_virtual or host.kind != AssetKind.SERVER:
                self.error(
                    path,
                    "host",
                    _("The host must be a physical server; {host} is not.").format(host=host),
                )

    def plan_interfaces(self) -> None:
        """An asset that lists interfaces gets exactly those; the rest of its interfaces go."""
        #: interfaces the file lists, with their wanted addresses
        self.wanted_ips: list[tuple[str, Interface, list[str]]] = []
        self.managed: set[int] = set()  # id() of assets whose interfaces the file decides
        self.final_ifaces: dict[tuple[str, str], Interface] = {}
        self.new_ifaces: list[Interface] = []
        self.changed_ifaces: list[Interface] = []
        self.dropped_ifaces: list[Interface] = []
        for path, rec, asset in self.file_assets:
            if "interfaces" not in rec:
                continue
            self.managed.add(id(asset))
            existing = self.ifaces_of.get(asset.pk, {}) if asset.pk else {}
            names: set[str] = set()
            for ipath, irec in self.sub_records(rec, "interfaces", path):
                name = self.key_of(irec, "name", ipath)
                if name is None:
                    continue
                if len(name) > 64:
                    self.error(ipath, "name", _("is longer than {n} characters").format(n=64))
                    continue
                if name in names:
                    self.error(
                        ipath,
                        "name",
                        _("interface {name} of {tag} is listed twice").format(
                            name=name, tag=asset.asset_tag
                        ),
                    )
                    continue
                names.add(name)
                mac = _text(irec.get("mac"))
                if mac is None:
                    self.error(ipath, "mac", _("must be text"))
                    mac = ""
                elif mac.strip():
                    try:
                        mac = normalise_mac(mac)
                    except ValueError:
                        self.error(
                            ipath,
                            "mac",
                            _(
                                "{value!r} is not a MAC address (expected e.g. 00:1a:2b:3c:4d:5e)"
                            ).format(value=mac),
                        )
                        mac = ""
                else:
                    mac = ""
                addresses: list[str] = []
                raw_ips = _str_list(irec.get("ip_addresses"))
                if raw_ips is None:
                    self.error(ipath, "ip_addresses", _("must be a list of IP addresses"))
                    raw_ips = []
                for raw in raw_ips:
                    try:
                        addresses.append(str(ipaddress.ip_address(_key(raw))))
                    except ValueError:
                        self.error(
                            ipath,
                            "ip_addresses",
                            _("{value!r} is not an IP address").format(value=raw),
                        )
                iface = existing.get(name)
                if iface is None:
                    iface = Interface(asset=asset, name=name, mac=mac)
                    self.new_ifaces.append(iface)
                    self.result.add("interfaces", "created")
                elif iface.mac != mac:
                    iface.mac = mac
                    self.changed_ifaces.append(iface)
                    self.result.add("interfaces", "updated")
                else:
                    self.result.add("interfaces", "unchanged")
                self.final_ifaces[(asset.asset_tag, name)] = iface
                self.wanted_ips.append((ipath, iface, addresses))
            for name, iface in existing.items():
                if name not in names:
                    self.dropped_ifaces.append(iface)
                    self.result.add("interfaces", "deleted")
        # Interfaces of assets the file leaves alone stay as they are.
        for asset_id, ifaces in self.ifaces_of.items():
            asset = self.asset_by_id[asset_id]
            if id(asset) not in self.managed:
                for name, iface in ifaces.items():
                    self.final_ifaces[(asset.asset_tag, name)] = iface

    def plan_addresses(self) -> None:
        """Place every address in its narrowest subnet and check it is unique there."""
        index = _SubnetIndex(self.subnets.items())
        dropped = {id(i) for i in self.dropped_ifaces}
        managed_ifaces = {id(iface) for _p, iface, _a in self.wanted_ips}
        #: (subnet, address) → who holds it: (path or None for the register, description)
        owner: dict[tuple[int | None, str], tuple[str | None, str]] = {}
        self.new_ips: list[IPAddress] = []
        self.moved_ips: list[tuple[IPAddress, Subnet | None]] = []
        self.dropped_ips: list[IPAddress] = []
        kept_on: dict[int, dict[str, IPAddress]] = defaultdict(dict)

        for ip in self.ips:
            iface = ip.interface
            if id(iface) in dropped:
                continue  # deleted with its interface
            if id(iface) in managed_ifaces:
                kept_on[id(iface)][ip.address] = ip
                continue
            subnet = index.narrowest(ip.address)
            owner[(id(subnet) if subnet else None, ip.address)] = (None, str(iface.asset))
            if _subnet_changes(ip, subnet):
                self.moved_ips.append((ip, subnet))

        for path, iface, addresses in self.wanted_ips:
            current = kept_on.get(id(iface), {})
            for address in addresses:
                subnet = index.narrowest(address)
                slot = (id(subnet) if subnet else None, address)
                where = _("in {subnet}").format(subnet=subnet.prefix) if subnet else ""
                if slot in owner:
                    other_path, other = owner[slot]
                    if other_path is None:
                        reason = _("{ip} is already used by {asset} {where}")
                    else:
                        reason = _("{ip} is also given to {asset} ({other}) {where}")
                    self.error(
                        path,
                        "ip_addresses",
                        reason.format(
                            ip=address,
                            asset=other,
                            where=where,
                            other=self.where(other_path or ""),
                        ).strip(),
                    )
                    continue
                owner[slot] = (path, f"{iface.asset.asset_tag} {iface.name}")
                ip = current.pop(address, None)
                if ip is None:
                    self.new_ips.append(IPAddress(interface=iface, address=address, subnet=subnet))
                    self.result.add("ip_addresses", "created")
                elif _subnet_changes(ip, subnet):
                    self.moved_ips.append((ip, subnet))
                    self.result.add("ip_addresses", "updated")
                else:
                    self.result.add("ip_addresses", "unchanged")
            self.dropped_ips.extend(current.values())
        self.result.add(
            "ip_addresses",
            "updated",
            sum(1 for ip, _s in self.moved_ips if id(ip.interface) not in managed_ifaces),
        )
        self.result.add("ip_addresses", "deleted", len(self.dropped_ips))
        self.result.add(
            "ip_addresses",
            "deleted",
            sum(1 for ip in self.ips if id(ip.interface) in dropped),
        )

    def plan_cabling(self) -> None:
        """File cables replace any cable on either of their interfaces."""
        dropped = {id(i) for i in self.dropped_ifaces}
        used: dict[int, str] = {}
        self.new_cables: list[Cable] = []
        self.changed_cables: list[Cable] = []
        replaced: dict[int, Cable] = {}
        touching: dict[int, list[Cable]] = defaultdict(list)
        for cable in self.cables:
            touching[id(cable.a_interface)].append(cable)
            touching[id(cable.b_interface)].append(cable)
        for path, rec in self.records("cabling"):
            ends: list[Interface] = []
            for side in ("a", "b"):
                end = rec.get(side)
                if not isinstance(end, dict):
                    self.error(path, side, _("must name an asset_tag and an interface"))
                    continue
                tag = _key(_text(end.get("asset_tag")) or "")
                name = _key(_text(end.get("interface")) or "")
                if not tag:
                    self.error(path, f"{side}.asset_tag", _("is required"))
                    continue
                if not name:
                    self.error(path, f"{side}.interface", _("is required"))
                    continue
                if tag not in self.assets:
                    self.error(path, f"{side}.asset_tag", _("unknown asset {tag}").format(tag=tag))
                    continue
                iface = self.final_ifaces.get((tag, name))
                if iface is None:
                    self.error(
                        path,
                        f"{side}.interface",
                        _("unknown interface {name} of {tag}").format(name=name, tag=tag),
                    )
                    continue
                if id(iface) in used:
                    self.error(
                        path,
                        f"{side}.interface",
                        _("{tag} {name} is already in the cable at {other}").format(
                            tag=tag, name=name, other=self.where(used[id(iface)])
                        ),
                    )
                    continue
                used[id(iface)] = path
                ends.append(iface)
            cable_type = self.choice(rec, "cable_type", path, CableType, blank=True)
            label = self.text(rec, "label", path, Cable)
            if len(ends) != 2:
                continue
            a, b = ends
            if a.asset is b.asset:
                self.error(path, "b.asset_tag", _("A cable joins two different assets."))
                continue
            values = {
                "cable_type": cable_type if cable_type not in (_MISSING, "") else CableType.COPPER,
                "label": label if label is not _MISSING else "",
            }
            same = [
                c
                for c in touching[id(a)]
                if c.a_interface is a and c.b_interface is b and c.pk not in replaced
            ]
            if same:
                cable = same[0]
                if cable_type in (_MISSING, ""):
                    values["cable_type"] = cable.cable_type
                if label is _MISSING:
                    values["label"] = cable.label
                if (cable.cable_type, cable.label) != (values["cable_type"], values["label"]):
                    cable.cable_type, cable.label = values["cable_type"], values["label"]
                    self.changed_cables.append(cable)
                    self.result.add("cabling", "updated")
                else:
                    self.result.add("cabling", "unchanged")
                continue
            for iface in (a, b):
                for old in touching[id(iface)]:
                    replaced.setdefault(old.pk, old)
            self.new_cables.append(Cable(a_interface=a, b_interface=b, **values))
            self.result.add("cabling", "created")
        # Cables go with an interface the import removes, or when a file cable takes a port.
        self.dropped_cables = list(replaced.values()) + [
            c
            for c in self.cables
            if c.pk not in replaced
            and (id(c.a_interface) in dropped or id(c.b_interface) in dropped)
        ]
        self.result.add("cabling", "deleted", len(self.dropped_cables))

    def plan_connections(self) -> None:
        self.connection_assets: list[tuple[ExternalConnection, list[str], list[str]]] = []
        connections = ExternalConnection.objects.prefetch_related("reaches")
        existing = {_key(c.name): c for c in connections}
        seen: set[str] = set()
        for path, rec in self.records("external_connections"):
            name = self.key_of(rec, "name", path)
            if name is None:
                continue
            if name in seen:
                self.error(path, "name", _("{value} appears twice in the file").format(value=name))
                continue
            seen.add(name)
            conn = existing.get(name)
            created = conn is None
            if conn is None:
                conn = ExternalConnection(name=name)
                for required in ("kind", "method"):
                    if required not in rec:
                        self.error(path, required, _("is required"))
            values = {
                "kind": self.choice(rec, "kind", path, ConnectionKind, blank=False),
                "method": self.choice(rec, "method", path, ConnectionMethod, blank=False),
                "provider": self.text(rec, "provider", path, ExternalConnection),
                "peer": self.text(rec, "peer", path, ExternalConnection),
                "settings": self.text(rec, "settings", path, ExternalConnection),
            }
            self.update("external_connections", conn, values, created=created)
            before = (
                ([], [])
                if created
                else (
                    [a.asset_tag for a in conn.path()],
                    sorted(a.asset_tag for a in conn.reaches.all()),
                )
            )
            lists: list[list[str]] = []
            for i, key in enumerate(("through", "reaches")):
                if key not in rec:
                    lists.append(before[i])
                    continue
                tags = _str_list(rec[key])
                if tags is None:
                    self.error(path, key, _("must be a list of asset tags"))
                    tags = []
                for tag in tags:
                    if tag not in self.assets:
                        self.error(path, key, _("unknown asset {tag}").format(tag=tag))
                if key == "through":
                    # The path, in order: an asset can be passed once.
                    if len(set(tags)) != len(tags):
                        self.error(path, key, _("names an asset twice"))
                    lists.append(list(dict.fromkeys(tags)))
                else:
                    lists.append(sorted(set(tags)))
            if (lists[0], lists[1]) != before:
                self.connection_assets.append((conn, lists[0], lists[1]))
                if not created and conn not in self.to_save["external_connections"]:
                    # only the asset lists changed: count the connection as updated
                    self.result.add("external_connections", "unchanged", -1)
                    self.result.add("external_connections", "updated")

    def plan_flows(self) -> None:
        """Declared data flows, keyed by (source, destination, protocol, port); flows the file
        does not mention are kept, as cables are."""
        existing: dict[tuple[str, str, str, int | None], Flow] = {}
        for flow in Flow.objects.all():
            flow.source = self.asset_by_id[flow.source_id]
            flow.destination = self.asset_by_id[flow.destination_id]
            key = (
                flow.source.asset_tag,
                flow.destination.asset_tag,
                _key(flow.protocol),
                flow.port,
            )
            existing[key] = flow
        seen: set[tuple[str, str, str, int | None]] = set()
        for path, rec in self.records("flows"):
            tags: dict[str, str] = {}
            for end in ("source", "destination"):
                tag = _text(rec.get(end))
                if tag is None:
                    self.error(path, end, _("is required"))
                elif tag not in self.assets:
                    self.error(path, end, _("unknown asset {tag}").format(tag=tag))
                else:
                    tags[end] = tag
            protocol = _text(rec.get("protocol"))
            if protocol is None:
                self.error(path, "protocol", _("is required"))
            port = self.integer(rec, "port", path)
            port = None if port is _MISSING else port
            if port is not None and not 1 <= port <= 65535:
                self.error(path, "port", _("a port is between 1 and 65535"))
                continue
            if len(tags) < 2 or protocol is None:
                continue
            if tags["source"] == tags["destination"]:
                self.error(path, "destination", _("a flow goes from one asset to another"))
                continue
            key = (tags["source"], tags["destination"], _key(protocol), port)
            if key in seen:
                self.error(path, "protocol", _("this flow appears twice in the file"))
                continue
            seen.add(key)
            flow = existing.get(key)
            created = flow is None
            if flow is None:
                flow = Flow(
                    source=self.assets[tags["source"]],
                    destination=self.assets[tags["destination"]],
                    protocol=protocol,
                    port=port,
                )
            values = {
                "transport": self.choice(rec, "transport", path, Transport, blank=False),
                "purpose": self.text(rec, "purpose", path, Flow),
            }
            self.update("flows", flow, values, created=created)

    # --- applying --------------------------------------------------------------------------
    def apply(self, progress: Progress) -> None:
        """Write the plan. Call inside transaction.atomic() and acting_as(actor)."""
        history: list[ObjectChange] = []

        def named(objs: Iterable[models.Model]) -> Callable[[Any], str]:
            # Built after the level above is saved, so new parents have their ids.
            by_pk = {o.pk: o for o in objs}
            return lambda pk: str(by_pk[pk])

        # Places can be many (a big hospital has thousands of rooms): bulk, level by level.
        self._write(Site, "sites", {}, history, progress)
        self._write(Building, "buildings", {"site": named(self.sites.values())}, history, progress)
        self._write(
            Floor, "floors", {"building": named(self.buildings.values())}, history, progress
        )
        self._write(Room, "rooms", {"floor": named(self.floors.values())}, history, progress)
        self._write(Rack, "racks", {"room": named(self.rooms.values())}, history, progress)
        self._write(Zone, "zones", {}, history, progress)
        self._write(VLAN, "vlans", {"site": named(self.sites.values())}, history, progress)
        subnet_show = {"vlan": named(self.vlans.values()), "zone": named(self.zones.values())}
        self._write(Subnet, "subnets", subnet_show, history, progress)
        self.apply_assets(history, progress)
        self.apply_network(history, progress)
        conns = self.to_save.get("external_connections", [])
        self._write(ExternalConnection, "external_connections", {}, history, progress)
        for conn, through, reaches in self.connection_assets:
            conn.set_assets(
                through=[self.assets[t] for t in through],
                reaches=[self.assets[t] for t in reaches],
            )
        progress("external_connections", len(conns), len(conns))
        ends = named(self.assets.values())
        self._write(Flow, "flows", {"source": ends, "destination": ends}, history, progress)
        total = len(history)
        for start in range(0, total, BATCH):
            insert_changes(history[start : start + BATCH])
            progress("history", min(start + BATCH, total), total)

    def apply_assets(self, history: list[ObjectChange], progress: Progress) -> None:
        room_by_id = {r.pk: r for r in self.rooms.values()}
        rack_by_id = {r.pk: r for r in self.racks.values()}
        for _path, _rec, asset in self.file_assets:
            if id(asset) in self.place_of:
                room, rack = self.place_of[id(asset)]
                asset.room_id = room.pk if room else None
                asset.rack_id = rack.pk if rack else None
        # First pass: new assets without their host (which may itself be new)...
        total = len(self.new_assets)
        for start in range(0, total, BATCH):
            Asset.objects.bulk_create(self.new_assets[start : start + BATCH])
            progress("assets", min(start + BATCH, total), total)
        for asset in self.new_assets:
            self.asset_by_id[asset.pk] = asset
        # ...second pass: every host is saved now.
        for _path, _rec, asset in self.file_assets:
            if id(asset) in self.host_of:
                host_tag = self.host_of[id(asset)]
                asset.host_id = self.assets[host_tag].pk if host_tag else None

        def old_asset(pk: int) -> str:
            # how the host read before this import (it may be renamed by the same file)
            host = self.asset_by_id[pk]
            loaded = getattr(host, "_loaded", None)
            if loaded is None:
                return str(host)
            return f"{loaded['name']} ({loaded['asset_tag']})"

        show: Show = {
            "room": lambda pk: str(room_by_id[pk]),
            "rack": lambda pk: str(rack_by_id[pk]),
            "host": lambda pk: str(self.asset_by_id[pk]),
        }
        show_old: Show = {**show, "host": old_asset}
        now = timezone.now()
        changed: list[Asset] = []
        new_ids = {id(a) for a in self.new_assets}
        new_with_host: list[Asset] = []
        for _path, _rec, asset in self.file_assets:
            after = asset.snapshot()
            if id(asset) in new_ids:
                history.append(change_record(asset, ChangeAction.CREATE, _changes({}, after, show)))
                if asset.host_id:
                    new_with_host.append(asset)
                continue
            before = asset._loaded  # type: ignore[attr-defined]
            if after == before:
                self.result.add("assets", "unchanged")
                continue
            asset.last_updated = now
            changed.append(asset)
            history.append(
                change_record(asset, ChangeAction.UPDATE, _changes(before, after, show, show_old))
            )
            self.result.add("assets", "updated")
        self.result.add("assets", "created", len(self.new_assets))
        fields = [f.name for f in Asset.logged_fields()] + ["last_updated"]
        self._bulk_update(Asset, new_with_host, ["host"])
        for start in range(0, len(changed), BATCH):
            Asset.objects.bulk_update(changed[start : start + BATCH], fields)
            progress("assets", min(start + BATCH, len(changed)), len(changed))

    def apply_network(self, history: list[ObjectChange], progress: Progress) -> None:
        subnet_by_id = {s.pk: s for s in self.subnets.values()}
        iface_show: Show = {"asset": lambda pk: str(self.asset_by_id[pk])}
        ip_show: Show = {
            "interface": lambda pk: str(self.iface_by_id[pk]),
            "subnet": lambda pk: str(subnet_by_id[pk]),
        }
        cable_show: Show = {
            "a_interface": lambda pk: str(self.iface_by_id[pk]),
            "b_interface": lambda pk: str(self.iface_by_id[pk]),
        }

        # Deletions first: a freed port or address may be taken again below. Their history
        # (cascades included) is written by the pre/post_delete receivers of medshield.core.
        self._delete(Cable, [c.pk for c in self.dropped_cables])
        self._delete(IPAddress, [ip.pk for ip in self.dropped_ips])
        self._delete(Interface, sorted(i.pk for i in self.dropped_ifaces))

        now = timezone.now()
        self._bulk(Interface, self.new_ifaces, "interfaces", progress)
        for iface in self.new_ifaces:
            self.iface_by_id[iface.pk] = iface
            changes = _changes({}, iface.snapshot(), iface_show)
            history.append(change_record(iface, ChangeAction.CREATE, changes))
        for iface in self.changed_ifaces:
            iface.last_updated = now
            before = iface._loaded  # type: ignore[attr-defined]
            history.append(
                change_record(
                    iface, ChangeAction.UPDATE, _changes(before, iface.snapshot(), iface_show)
                )
            )
        self._bulk_update(Interface, self.changed_ifaces, ["mac", "last_updated"])

        for ip, subnet in self.moved_ips:
            ip.subnet = subnet
            ip.last_updated = now
            before = ip._loaded  # type: ignore[attr-defined]
            history.append(
                change_record(ip, ChangeAction.UPDATE, _changes(before, ip.snapshot(), ip_show))
            )
        self._bulk_update(IPAddress, [ip for ip, _s in self.moved_ips], ["subnet", "last_updated"])
        self._bulk(IPAddress, self.new_ips, "ip_addresses", progress)
        for ip in self.new_ips:
            history.append(
                change_record(ip, ChangeAction.CREATE, _changes({}, ip.snapshot(), ip_show))
            )

        for cable in self.changed_cables:
            cable.last_updated = now
            before = cable._loaded  # type: ignore[attr-defined]
            history.append(
                change_record(
                    cable, ChangeAction.UPDATE, _changes(before, cable.snapshot(), cable_show)
                )
            )
        self._bulk_update(Cable, self.changed_cables, ["cable_type", "label", "last_updated"])
        self._bulk(Cable, self.new_cables, "cabling", progress)
        for cable in self.new_cables:
            changes = _changes({}, cable.snapshot(), cable_show)
            history.append(change_record(cable, ChangeAction.CREATE, changes))

    def _write(
        self,
        model: type[ChangeLoggedModel],
        object_type: str,
        show: Show,
        history: list[ObjectChange],
        progress: Progress,
    ) -> None:
        """Insert the new and update the changed objects of one type, with their history."""
        objs = self.to_save.get(object_type, [])
        new = [o for o in objs if o._state.adding]
        changed = [o for o in objs if not o._state.adding]
        self._bulk(model, new, object_type, progress)
        now = timezone.now()
        for obj in changed:
            before = obj._loaded  # type: ignore[attr-defined]
            obj.last_updated = now
            history.append(
                change_record(obj, ChangeAction.UPDATE, _changes(before, obj.snapshot(), show))
            )
        fields = [f.name for f in model.logged_fields()] + ["last_updated"]
        self._bulk_update(model, changed, fields)
        for obj in new:
            history.append(
                change_record(obj, ChangeAction.CREATE, _changes({}, obj.snapshot(), show))
            )
        progress(object_type, len(objs), len(objs))

    @staticmethod
    def _delete(model: type[models.Model], pks: list[int]) -> None:
        for start in range(0, len(pks), BATCH):
            model._base_manager.filter(pk__in=pks[start : start + BATCH]).delete()

    @staticmethod
    def _bulk(model: type[M], objs: list[M], stage: str, progress: Progress) -> None:
        for start in range(0, len(objs), BATCH):
            model._base_manager.bulk_create(objs[start : start + BATCH])
            progress(stage, min(start + BATCH, len(objs)), len(objs))

    @staticmethod
    def _bulk_update(model: type[M], objs: list[M], fields: list[str]) -> None:
        for start in range(0, len(objs), BATCH):
            model._base_manager.bulk_update(objs[start : start + BATCH], fields)


def lock_register() -> None:
    """Hold other writers of the register off until this transaction ends.

    SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE); PostgreSQL's READ
    COMMITTED does not, so an edit made between planning and writing would be overwritten and
    two imports creating one asset tag would collide. SHARE ROW EXCLUSIVE conflicts with every
    write to the table and with itself, and still lets everyone read.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(Asset._meta.db_table)} "
                "IN SHARE ROW EXCLUSIVE MODE"
            )


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def import_document(
    doc: Any,
    *,
    actor: Actor | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    source: SourceMap | None = None,
) -> ImportResult:
    """Import a register document (docs/register-format.md) into the database.

    Everything is validated first against the document and the current register; when
    anything is wrong :class:`ImportRejected` lists every error and nothing is written.
    Otherwise the changes are applied in one transaction, with history rows attributed to
    ``actor`` (the current actor when None). ``dry_run`` validates and counts without writing.
    ``source`` maps document paths back to spreadsheet rows and columns for error messages.
    ``progress(stage, done, total)`` is called as the work advances.
    """
    report = progress or _no_progress
    with acting_as(actor or current_actor()):
        if dry_run:
            plan = _Plan(doc, source)
            report("validate", 0, 1)
            plan.plan()
            report("validate", 1, 1)
            if plan.errors:
                raise ImportRejected(plan.errors)
            plan.result.dry_run = True
            return plan.result
        # Validate inside the transaction so nobody changes the register between check and write.
        with transaction.atomic():
            lock_register()
            plan = _Plan(doc, source)
            report("validate", 0, 1)
            plan.plan()
            report("validate", 1, 1)
            if plan.errors:
                raise ImportRejected(plan.errors)
            plan.apply(report)
            if any(
                plan.result.counts[t][a]
                for t in ("sites", "buildings", "floors", "rooms", "assets")
                for a in ("created", "updated")
            ):
                refresh_derived()
        if plan.result.created + plan.result.updated >= ANALYZE_AFTER:
            # Fresh statistics after a bulk load: without them SQLite's planner picks a filter's
            # index over the sort's and the asset list sorts 100,000 rows per page.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return plan.result
