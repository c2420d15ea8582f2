"""Read nmap's XML output (``nmap -oX``): hosts, addresses, hostnames, open ports, OS guesses.

Pure Python, no Django: :func:`read_nmap` returns plain dataclasses, and :meth:`NmapScan.as_json`
gives the same ``{"hosts": [...], "flows": [...]}`` shape as the pcap and Zeek readers so that
every kind of evidence lands in the same observation tables.

The file is parsed with ``defusedxml``'s ``iterparse`` (entity declarations and external
references are refused, nothing is fetched) one ``<host>`` at a time, each element cleared once
read, so a /16 scan does not sit in memory as a tree. A scan cut short (nmap interrupted, a file
truncated in transfer) yields the hosts read before the break, ``complete=False`` and a warning.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # noqa: S405 - only for the ParseError class and the types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser


class NmapError(ValueError):
    """The file is not an nmap XML report (or breaks before its first host)."""


@dataclass(frozen=True)
class NmapPort:
    port: int
    transport: str  # tcp, udp, sctp
    state: str  # open, closed, filtered, open|filtered...
    service: str = ""  # nmap-services name: acr-nema, dicom, hl7, https...
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    cpes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "transport": self.transport,
            "state": self.state,
            "name": self.service,
            "product": self.product,
            "version": self.version,
            "extrainfo": self.extrainfo,
            "cpes": list(self.cpes),
        }


@dataclass
class NmapHost:
    status: str = "unknown"  # up, down, unknown
    ipv4: str = ""
    ipv6: str = ""
    mac: str = ""
    vendor: str = ""
    hostnames: list[str] = field(default_factory=list)
    ports: list[NmapPort] = field(default_factory=list)
    os_matches: list[tuple[str, int]] = field(default_factory=list)  # (name, accuracy %)
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def ip(self) -> str:
        return self.ipv4 or self.ipv6

    @property
    def open_ports(self) -> list[NmapPort]:
        return [p for p in self.ports if p.state == "open"]

    def as_json(self) -> dict[str, Any]:
        protocols = sorted({p.service for p in self.open_ports if p.service})
        return {
            "ip": self.ip,
            "mac": self.mac,
            "vendor": self.vendor,
            "hostnames": list(self.hostnames),
            "protocols": protocols,
            "services": [p.as_json() for p in self.open_ports],
            "os": [{"name": n, "accuracy": a} for n, a in self.os_matches],
            "dicom_ae_titles": [],
            "hl7_applications": [],
            "hl7_facilities": [],
            "first_seen": _iso(self.start),
            "last_seen": _iso(self.end or self.start),
        }


@dataclass
class NmapScan:
    hosts: list[NmapHost] = field(default_factory=list)
    args: str = ""
    version: str = ""
    start: dt.datetime | None = None
    hosts_down: int = 0
    complete: bool = True
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Hosts that answered, in the shared evidence shape (nmap sees no flows)."""
        hosts = []
        for host in self.hosts:
            if host.status == "down" or not (host.ip or host.mac):
                continue
            if host.start is None and self.start is not None:
                host.start = self.start
            hosts.append(host.as_json())
        return {"hosts": hosts, "flows": []}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _epoch(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _host(elem: ET.Element) -> NmapHost:
    host = NmapHost(start=_epoch(elem.get("starttime")), end=_epoch(elem.get("endtime")))
    status = elem.find("status")
    if status is not None:
        host.status = status.get("state", "unknown")
    for address in elem.findall("address"):
        kind, addr = address.get("addrtype", ""), address.get("addr", "")
        if kind == "ipv4" and not host.ipv4:
            host.ipv4 = addr
        elif kind == "ipv6" and not host.ipv6:
            host.ipv6 = addr
        elif kind == "mac" and not host.mac:
            host.mac = addr.lower()
            host.vendor = address.get("vendor", "")
    for name in elem.iterfind("hostnames/hostname"):
        value = (name.get("name") or "").strip().rstrip(".")
        if value and value not in host.hostnames:
            host.hostnames.append(value)
    for port in elem.iterfind("ports/port"):
        state = port.find("state")
        service = port.find("service")
        svc = service.attrib if service is not None else {}
        host.ports.append(
            NmapPort(
                port=_int(port.get("portid")),
                transport=port.get("protocol", "tcp"),
                state=state.get("state", "") if state is not None else "",
                service=svc.get("name", ""),
                product=svc.get("product", ""),
                version=svc.get("version", ""),
                extrainfo=svc.get("extrainfo", ""),
                cpes=tuple((c.text or "").strip() for c in (service.findall("cpe") if svc else [])),
            )
        )
    for match in elem.iterfind("os/osmatch"):
        host.os_matches.append((match.get("name", ""), _int(match.get("accuracy"))))
    return host


def _events(source: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
    """(event, element) pairs, fed 64 KiB at a time.

    Not ``iterparse``: it drops the events of the chunk in which a parse error occurs, so a
    truncated file would lose up to a chunk of complete hosts. XMLPullParser queues the error
    behind the events that preceded it.
    """
    parser = DefusedXMLParser(
        target=ET.TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    pull = ET.XMLPullParser(events=("start", "end"), _parser=parser)
    while chunk := source.read(1 << 16):
        pull.feed(chunk)
        yield from pull.read_events()
    pull.close()
    yield from pull.read_events()


def read_nmap(source: str | Path | IO[bytes]) -> NmapScan:
    """Parse an nmap XML report; raise :class:`NmapError` when it is not one."""
    if isinstance(source, str | Path):
        with open(source, "rb") as stream:
            return read_nmap(stream)
    scan = NmapScan()
    depth = 0
    root_seen = False
    finished = False
    try:
        for event, elem in _events(source):
            if event == "start":
                depth += 1
                if depth == 1:
                    if elem.tag != "nmaprun":
                        raise NmapError(
                            f"not an nmap XML report: the root element is <{elem.tag}>, "
                            "expected <nmaprun>"
                        )
                    root_seen = True
                    scan.args = elem.get("args", "")
                    scan.version = elem.get("version", "")
                    scan.start = _epoch(elem.get("start"))
                continue
            depth -= 1
            if depth == 1 and elem.tag == "host":
                host = _host(elem)
                if host.status == "down":
                    scan.hosts_down += 1
                else:
                    scan.hosts.append(host)
                elem.clear()
            elif depth == 1 and elem.tag == "runstats":
                finished = elem.find("finished") is not None
            elif depth == 1 and elem.tag in ("hosthint", "taskprogress", "taskbegin", "taskend"):
                # hosthint repeats a later <host>; progress lines carry nothing to keep
                elem.clear()
    except DefusedXmlException as exc:
        raise NmapError(
            f"refused: the XML declares entities or external references ({exc})"
        ) from None
    except LookupError as exc:  # an encoding declaration Python does not know (found by fuzzing)
        raise NmapError(f"the XML declares an encoding that is not known: {exc}") from None
    except ET.ParseError as exc:
        if not root_seen:
            raise NmapError(f"not an nmap XML report: {exc}") from None
        scan.complete = False
        scan.warnings.append(
            f"the file breaks off ({exc}); kept the {len(scan.hosts)} host(s) read before it"
        )
        return scan
    if not root_seen:
        raise NmapError("not an nmap XML report: the file is empty")
    if not finished:
        scan.warnings.append("no <runstats>: the scan was interrupted before it finished")
    return _merge_duplicates(scan)


def _merge_duplicates(scan: NmapScan) -> NmapScan:
    """One host per address: nmap can report a host twice (e.g. in two scan phases)."""
    merged: dict[tuple[str, str], NmapHost] = {}
    for host in scan.hosts:
        key = (host.ip, host.mac)
        seen = merged.get(key)
        if seen is None:
            merged[key] = host
            continue
        seen.hostnames += [n for n in host.hostnames if n not in seen.hostnames]
        known = {(p.port, p.transport) for p in seen.ports}
        seen.ports += [p for p in host.ports if (p.port, p.transport) not in known]
        seen.os_matches = seen.os_matches or host.os_matches
        seen.vendor = seen.vendor or host.vendor
        seen.end = max((t for t in (seen.end, host.end) if t), default=None)
    scan.hosts = list(merged.values())
    return scan
