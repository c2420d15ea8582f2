"""Where the network and the register disagree, and the one-step fixes for each disagreement.

Four kinds of drift item, each with a stable ``key`` so a dismissal sticks to it:

- unknown host: seen on the network, but no registered interface has its IP or MAC (only
  addresses in a registered subnet or private address space: internet servers are not devices);
- silent asset: registered with an IP in a subnet the evidence covers, yet not seen there within
  ``silent_days`` of the newest evidence for that subnet (a subnet no evidence touched says
  nothing, so one small capture does not call the whole hospital silent);
- undeclared flow: traffic between two registered assets that no declared Flow covers
  (same source, destination and port; or a port-less Flow of the same protocol);
- changed fact: the observed IP of a registered MAC, the MAC at a registered IP, or the host name
  differs from the register; a DICOM AE title not written in the asset's role or notes is
  reported for information.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from medshield.assets.choices import AssetStatus
from medshield.assets.models import Asset
from medshield.discovery.models import (
    Dismissal,
    DriftKind,
    ObservationSource,
    ObservedFlow,
    ObservedHost,
)
from medshield.network.choices import Transport
from medshield.network.models import Flow, Interface, IPAddress, Subnet

DEFAULT_SILENT_DAYS = 30

#: well-known ports → the protocol name a declared flow would carry
PORT_PROTOCOLS = {
    104: "DICOM",
    11112: "DICOM",
    2761: "DICOM",
    2762: "DICOM",
    2575: "HL7",
    80: "HTTP",
    443: "HTTPS",
    445: "SMB",
    139: "SMB",
    22: "SSH",
    3389: "RDP",
    53: "DNS",
    123: "NTP",
    161: "SNMP",
    514: "Syslog",
    1433: "SQL Server",
    1521: "Oracle",
    5432: "PostgreSQL",
}


@dataclass
class DriftItem:
    kind: str
    key: str
    #: what was observed and what the register says, for display and for the fix
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, **_plain(self.data)}


@dataclass
class Drift:
    unknown_hosts: list[DriftItem] = field(default_factory=list)
    silent_assets: list[DriftItem] = field(default_factory=list)
    undeclared_flows: list[DriftItem] = field(default_factory=list)
    changed_facts: list[DriftItem] = field(default_factory=list)
    silent_days: int = DEFAULT_SILENT_DAYS
    covered_subnets: list[str] = field(default_factory=list)
    sources: int = 0
    dismissed: int = 0

    def items(self) -> list[DriftItem]:
        return [
            *self.unknown_hosts,
            *self.silent_assets,
            *self.undeclared_flows,
            *self.changed_facts,
        ]

    def find(self, kind: str, key: str) -> DriftItem | None:
        return next((i for i in self.items() if i.kind == kind and i.key == key), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "silent_days": self.silent_days,
            "evidence_files": self.sources,
            "covered_subnets": self.covered_subnets,
            "dismissed": self.dismissed,
            "unknown_hosts": [i.as_json() for i in self.unknown_hosts],
            "silent_assets": [i.as_json() for i in self.silent_assets],
            "undeclared_flows": [i.as_json() for i in self.undeclared_flows],
            "changed_facts": [i.as_json() for i in self.changed_facts],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, set) else items
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


# --- the register, indexed --------------------------------------------------------------------
@dataclass
class _Registered:
    asset: Asset
    interface: Interface


@dataclass
class _Register:
    by_ip: dict[str, _Registered]
    by_mac: dict[str, _Registered]
    ips_of: dict[int, list[str]]  # interface id → addresses
    subnets: list[Subnet]
    ip_subnet: dict[str, Subnet | None]


def _register() -> _Register:
    by_ip: dict[str, _Registered] = {}
    by_mac: dict[str, _Registered] = {}
    ips_of: dict[int, list[str]] = defaultdict(list)
    subnets = list(Subnet.objects.all())
    subnet_by_id = {s.pk: s for s in subnets}
    ip_subnet: dict[str, Subnet | None] = {}
    interfaces = {
        i.pk: i for i in Interface.objects.select_related("asset").order_by("asset_id", "name")
    }
    for iface in interfaces.values():
        if iface.mac:
            by_mac.setdefault(iface.mac.lower(), _Registered(iface.asset, iface))
    for ip in IPAddress.objects.order_by("address"):
        iface = interfaces[ip.interface_id]
        address = str(ipaddress.ip_address(ip.address))
        by_ip.setdefault(address, _Registered(iface.asset, iface))
        ips_of[iface.pk].append(address)
        ip_subnet[address] = (
            subnet_by_id.get(ip.subnet_id) if ip.subnet_id else Subnet.containing(address, subnets)
        )
    return _Register(by_ip, by_mac, ips_of, subnets, ip_subnet)


# --- the observations, merged per address ------------------------------------------------------
@dataclass
class _Seen:
    ip: str | None
    macs: set[str] = field(default_factory=set)
    hostnames: list[str] = field(default_factory=list)
    vendors: set[str] = field(default_factory=set)
    protocols: set[str] = field(default_factory=set)
    ports: set[str] = field(default_factory=set)
    ae_titles: set[str] = field(default_factory=set)
    hl7_applications: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    def at(self, first: dt.datetime | None, last: dt.datetime | None) -> None:
        if first and (self.first_seen is None or first < self.first_seen):
            self.first_seen = first
        if last and (self.last_seen is None or last > self.last_seen):
            self.last_seen = last


def _observed() -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {}
    rows = (
        ObservedHost.objects.filter(name_only=False)
        .annotate(
            when=Coalesce(F("last_seen"), F("source__last_seen"), F("source__imported")),
            since=Coalesce(F("first_seen"), F("source__first_seen"), F("source__imported")),
        )
        .select_related("source")
        .order_by("source__imported", "id")
    )
    for host in rows:
        key = host.ip or f"mac:{host.mac}"
        entry = seen.get(key)
        if entry is None:
            entry = seen[key] = _Seen(ip=host.ip)
        if host.mac:
            entry.macs.add(host.mac.lower())
        for name in host.hostnames:
            if name not in entry.hostnames:
                entry.hostnames.append(name)
        if host.vendor:
            entry.vendors.add(host.vendor)
        entry.protocols.update(host.protocols)
        for service in host.services:
            label = f"{service.get('port')}/{service.get('transport', 'tcp')}"
            if service.get("name"):
                label += f" {service['name']}"
            entry.ports.add(label)
        entry.ae_titles.update(host.dicom_ae_titles)
        entry.hl7_applications.update(host.hl7_applications)
        entry.sources.add(host.source.file_name)
        entry.at(host.since, host.when)
    # A flow's source was alive when it sent
    flows = ObservedFlow.objects.annotate(
        when=Coalesce(F("last_seen"), F("source__last_seen"), F("source__imported")),
    ).values_list("src", "when", "source__file_name")
    for src, when, file_name in flows:
        entry = seen.get(src)
        if entry is None:
            entry = seen[src] = _Seen(ip=src)
        entry.sources.add(file_name)
        entry.at(when, when)
    return seen


def _ours(ip: str, subnets: list[Subnet]) -> bool:
    """Inside a registered subnet, or in private/link-local address space."""
    address = ipaddress.ip_address(ip)
    return address.is_private or Subnet.containing(ip, subnets) is not None


def _short(name: str) -> str:
    return name.strip().rstrip(".").split(".")[0].lower()


def compute_drift(
    *, silent_days: int = DEFAULT_SILENT_DAYS, include_dismissed: bool = False
) -> Drift:
    drift = Drift(silent_days=silent_days, sources=ObservationSource.objects.count())
    reg = _register()
    seen = _observed()

    # unknown hosts and changed facts ---------------------------------------------------------
    for entry in seen.values():
        at_ip = reg.by_ip.get(entry.ip) if entry.ip else None
        at_mac = [reg.by_mac[m] for m in sorted(entry.macs) if m in reg.by_mac]
        if at_ip is None and not at_mac:
            if entry.ip and not _ours(entry.ip, reg.subnets):
                continue  # a server on the internet is not a device missing from the register
            drift.unknown_hosts.append(
                DriftItem(
                    DriftKind.UNKNOWN_HOST,
                    entry.ip or next(iter(entry.macs)),
                    {
                        "ip": entry.ip or "",
                        "mac": next(iter(sorted(entry.macs)), ""),
                        "macs": entry.macs,
                        "hostnames": entry.hostnames,
                        "vendor": ", ".join(sorted(entry.vendors)),
                        "protocols": entry.protocols,
                        "ports": entry.ports,
                        "dicom_ae_titles": entry.ae_titles,
                        "hl7_applications": entry.hl7_applications,
                        "subnet": str(Subnet.containing(entry.ip, reg.subnets) or "")
                        if entry.ip
                        else "",
                        "first_seen": entry.first_seen,
                        "last_seen": entry.last_seen,
                        "sources": entry.sources,
                    },
                )
            )
            continue
        drift.changed_facts.extend(_changes(entry, at_ip, at_mac, reg))

    # undeclared flows -------------------------------------------------------------------------
    declared: dict[tuple[int, int], list[Flow]] = defaultdict(list)
    for flow in Flow.objects.all():
        declared[(flow.source_id, flow.destination_id)].append(flow)
    merged: dict[tuple[str, str, int | None, str], dict[str, Any]] = {}
    for row in ObservedFlow.objects.select_related("source").order_by("id"):
        key = (row.src, row.dst, row.dst_port, row.transport)
        agg = merged.setdefault(
            key,
            {"protocols": set(), "packets": 0, "bytes": 0, "first": None, "last": None},
        )
        if row.protocol:
            agg["protocols"].add(row.protocol)
        agg["packets"] += row.packets
        agg["bytes"] += row.bytes
        for moment in (row.first_seen, row.last_seen):
            if moment and (agg["first"] is None or moment < agg["first"]):
                agg["first"] = moment
            if moment and (agg["last"] is None or moment > agg["last"]):
                agg["last"] = moment
    for (src, dst, port, transport), agg in merged.items():
        a, b = reg.by_ip.get(src), reg.by_ip.get(dst)
        if a is None or b is None or a.asset.pk == b.asset.pk:
            continue
        protocols = {p.lower() for p in agg["protocols"]}
        covered = any(
            (f.port == port and port is not None)
            or (f.port is None and f.protocol.lower() in protocols)
            for f in declared.get((a.asset.pk, b.asset.pk), [])
        )
        if covered:
            continue
        guessed = sorted(agg["protocols"])[0] if agg["protocols"] else ""
        guessed = guessed or PORT_PROTOCOLS.get(port or 0) or (transport or "tcp").upper()
        drift.undeclared_flows.append(
            DriftItem(
                DriftKind.UNDECLARED_FLOW,
                f"{a.asset.asset_tag}>{b.asset.asset_tag}:{port or ''}/{transport}",
                {
                    "source": a.asset.asset_tag,
                    "source_name": a.asset.name,
                    "destination": b.asset.asset_tag,
                    "destination_name": b.asset.name,
                    "src": src,
                    "dst": dst,
                    "port": port,
                    "transport": transport,
                    "protocol": guessed,
                    "observed_protocols": agg["protocols"],
                    "packets": agg["packets"],
                    "bytes": agg["bytes"],
                    "first_seen": agg["first"],
                    "last_seen": agg["last"],
                },
            )
        )

    # silent assets ----------------------------------------------------------------------------
    newest: dict[int, dt.datetime] = {}
    for entry in seen.values():
        if entry.ip is None or entry.last_seen is None:
            continue
        subnet = reg.ip_subnet.get(entry.ip) or Subnet.containing(entry.ip, reg.subnets)
        if subnet is not None and (subnet.pk not in newest or entry.last_seen > newest[subnet.pk]):
            newest[subnet.pk] = entry.last_seen
    drift.covered_subnets = sorted(s.prefix for s in reg.subnets if s.pk in newest)
    last_by_mac = {m: e.last_seen for e in seen.values() for m in e.macs if e.last_seen}
    window = dt.timedelta(days=silent_days)
    # per asset: None once any of its addresses was seen recently, else the silent item
    silent: dict[int, DriftItem | None] = {}
    for address, registered in reg.by_ip.items():
        asset = registered.asset
        subnet = reg.ip_subnet.get(address)
        if subnet is None or subnet.pk not in newest or asset.status != AssetStatus.IN_SERVICE:
            continue
        reference = newest[subnet.pk]
        candidates = [seen[address].last_seen] if address in seen else []
        mac = registered.interface.mac.lower()
        if mac in last_by_mac:
            candidates.append(last_by_mac[mac])
        last = max((c for c in candidates if c), default=None)
        if last is not None and last >= reference - window:
            silent[asset.pk] = None
        elif asset.pk not in silent:
            silent[asset.pk] = DriftItem(
                DriftKind.SILENT_ASSET,
                asset.asset_tag,
                {
                    "asset": asset.asset_tag,
                    "name": asset.name,
                    "ip": address,
                    "subnet": subnet.prefix,
                    "last_seen": last,
                    "evidence_until": reference,
                },
            )
    drift.silent_assets = [i for i in silent.values() if i is not None]

    # dismissals -------------------------------------------------------------------------------
    if not include_dismissed:
        gone = set(Dismissal.objects.values_list("kind", "key"))
        for name in ("unknown_hosts", "silent_assets", "undeclared_flows", "changed_facts"):
            kept = [i for i in getattr(drift, name) if (i.kind, i.key) not in gone]
            drift.dismissed += len(getattr(drift, name)) - len(kept)
            setattr(drift, name, kept)
    for name in ("unknown_hosts", "silent_assets", "undeclared_flows", "changed_facts"):
        getattr(drift, name).sort(key=lambda i: _sort_key(i.key))
    return drift


def _sort_key(key: str) -> tuple[Any, ...]:
    try:
        return (0, ipaddress.ip_address(key).version, int(ipaddress.ip_address(key)), key)
    except ValueError:
        return (1, 0, 0, key)


def _changes(
    entry: _Seen, at_ip: _Registered | None, at_mac: list[_Registered], reg: _Register
) -> list[DriftItem]:
    items: list[DriftItem] = []
    asset_ref = at_ip or at_mac[0]
    asset = asset_ref.asset

    def item(field_name: str, registered: str, observed: str, target: _Registered) -> None:
        items.append(
            DriftItem(
                DriftKind.CHANGED_FACT,
                f"{field_name}:{target.asset.asset_tag}:{target.interface.name}:{observed}",
                {
                    "field": field_name,
                    "asset": target.asset.asset_tag,
                    "name": target.asset.name,
                    "interface": target.interface.name,
                    "registered": registered,
                    "observed": observed,
                    "ip": entry.ip or "",
                    "last_seen": entry.last_seen,
                    "sources": entry.sources,
                },
            )
        )

    # The MAC is registered, but on an interface without this IP: the device moved or renumbered
    for owner in at_mac:
        addresses = reg.ips_of.get(owner.interface.pk, [])
        if entry.ip and entry.ip not in addresses:
            item("ip", ", ".join(addresses), entry.ip, owner)
    # The IP is registered, with another (or no) MAC, and the MAC seen is nobody's
    if at_ip is not None and len(entry.macs) == 1:
        mac = next(iter(entry.macs))
        if mac not in reg.by_mac and at_ip.interface.mac.lower() != mac:
            item("mac", at_ip.interface.mac, mac, at_ip)
    # Host name: only compared when the register has one
    if asset.hostname and entry.hostnames:
        if _short(asset.hostname) not in {_short(n) for n in entry.hostnames}:
            item("hostname", asset.hostname, entry.hostnames[0], asset_ref)
    # DICOM AE titles the register does not mention anywhere (information)
    written = f"{asset.role}\n{asset.notes}".lower()
    for title in sorted(entry.ae_titles):
        if title.lower() not in written:
            item("dicom_ae_title", "", title, asset_ref)
    return items


# --- the fixes ----------------------------------------------------------------------------------
class FixRefused(ValueError):
    """The register cannot take this fix as it stands; the message says why."""


def accept_flow(item: DriftItem, *, protocol: str = "", purpose: str = "") -> Flow:
    """Declare an observed flow."""
    data = item.data
    source = Asset.objects.get(asset_tag=data["source"])
    destination = Asset.objects.get(asset_tag=data["destination"])
    transport = data["transport"] if data["transport"] in Transport.values else Transport.TCP
    protocol = (protocol or data["protocol"])[:30]
    if Flow.objects.filter(
        source=source, destination=destination, protocol=protocol, port=data["port"]
    ).exists():
        raise FixRefused(_("This flow is already declared."))
    flow = Flow(
        source=source,
        destination=destination,
        protocol=protocol,
        port=data["port"],
        transport=transport,
        purpose=(purpose or _("Observed on the network (discovery)"))[:200],
    )
    flow.full_clean(validate_unique=False)
    flow.save()
    return flow


def accept_change(item: DriftItem) -> str:
    """Write the observed value into the register; returns what changed, for the message."""
    data = item.data
    asset = Asset.objects.get(asset_tag=data["asset"])
    observed = data["observed"]
    with transaction.atomic():
        if data["field"] == "mac":
            iface = asset.interfaces.get(name=data["interface"])
            iface.mac = observed
            iface.save()
        elif data["field"] == "ip":
            iface = asset.interfaces.get(name=data["interface"])
            clash = IPAddress.objects.filter(address=observed).select_related("interface__asset")
            other = clash.exclude(interface=iface).first()
            if other is not None:
                raise FixRefused(
                    _("%(ip)s is registered to %(asset)s; change that asset first.")
                    % {"ip": observed, "asset": other.interface.asset}
                )
            addresses = list(iface.ip_addresses.all())
            subnet = Subnet.containing(observed)
            if len(addresses) == 1:
                ip = addresses[0]
                ip.address, ip.subnet = observed, subnet
            else:
                ip = IPAddress(interface=iface, address=observed, subnet=subnet)
            ip.save()
        elif data["field"] == "hostname":
            asset.hostname = observed[:253]
            asset.save()
        elif data["field"] == "dicom_ae_title":
            line = _("DICOM AE title: %(title)s") % {"title": observed}
            asset.notes = f"{asset.notes.rstrip()}\n{line}".strip()
            asset.save()
        else:  # pragma: no cover - keys are built above
            raise FixRefused(data["field"])
    return f"{asset.asset_tag}: {data['registered'] or '-'} → {observed}"


def dismiss(item: DriftItem, *, reason: str, user: Any = None) -> Dismissal:
    dismissal, _created = Dismissal.objects.update_or_create(
        kind=item.kind,
        key=item.key,
        defaults={"reason": reason[:500], "user": user if user and user.pk else None},
    )
    return dismissal
