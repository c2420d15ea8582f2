"""Read Zeek (Bro) logs: conn, dhcp, dns, and DICOM/HL7 logs written by add-on analyzers.

Pure Python, no Django. Both of Zeek's writers are understood: the ASCII TSV format (the
``#separator``/``#set_separator``/``#empty_field``/``#unset_field``/``#fields`` header, read
rather than assumed, since columns change across Zeek versions) and JSON lines
(``LogAscii::use_json=T``: dotted keys, unset fields omitted, ``ts`` as epoch or ISO 8601).
Gzip-compressed (rotated) logs are opened transparently. Rows are read one at a time; only the
per-host and per-flow summaries are kept, so a day of a busy sensor's conn.log fits in memory.

:func:`read_zeek` returns a :class:`ZeekLog` whose :meth:`~ZeekLog.as_json` has the same
``{"hosts": [...], "flows": [...]}`` shape as the pcap reader's ``Capture.as_json()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: kinds of log this reader summarises
KINDS = ("conn", "dhcp", "dns", "dicom", "hl7")

#: Zeek's DPD service names → the protocol names the register's flows use
SERVICES = {
    "http": "HTTP",
    "ssl": "HTTPS",
    "dns": "DNS",
    "dhcp": "DHCP",
    "ntp": "NTP",
    "smb": "SMB",
    "ssh": "SSH",
    "ftp": "FTP",
    "smtp": "SMTP",
    "krb": "Kerberos",
    "krb_tcp": "Kerberos",
    "ldap": "LDAP",
    "ldap_tcp": "LDAP",
    "dce_rpc": "DCE-RPC",
    "rdp": "RDP",
    "snmp": "SNMP",
    "syslog": "Syslog",
    "dicom": "DICOM",
    "hl7": "HL7",
}


class ZeekError(ValueError):
    """The file is not a Zeek log this reader understands."""


@dataclass
class HostFacts:
    ip: str
    mac: str = ""
    hostnames: list[str] = field(default_factory=list)
    protocols: set[str] = field(default_factory=set)
    dicom_ae_titles: set[str] = field(default_factory=set)
    hl7_applications: set[str] = field(default_factory=set)
    hl7_facilities: set[str] = field(default_factory=set)
    vendor_class: str = ""
    #: only named in DNS answers: not evidence that the address is on the network
    name_only: bool = True
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    def seen(self, when: dt.datetime | None) -> None:
        self.name_only = False
        if when is None:
            return
        if self.first_seen is None or when < self.first_seen:
            self.first_seen = when
        if self.last_seen is None or when > self.last_seen:
            self.last_seen = when

    def as_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "mac": self.mac,
            "hostnames": list(self.hostnames),
            "protocols": sorted(self.protocols),
            "dicom_ae_titles": sorted(self.dicom_ae_titles),
            "hl7_applications": sorted(self.hl7_applications),
            "hl7_facilities": sorted(self.hl7_facilities),
            "vendor_class": self.vendor_class,
            "name_only": self.name_only,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
        }


@dataclass
class FlowFacts:
    src: str
    dst: str
    dst_port: int | None
    transport: str
    protocol: str
    packets: int = 0
    bytes: int = 0
    connections: int = 0
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "dst_port": self.dst_port,
            "transport": self.transport,
            "protocol": self.protocol,
            "packets": self.packets,
            "bytes": self.bytes,
            "connections": self.connections,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
        }


@dataclass
class ZeekLog:
    kind: str
    format: str  # tsv or json
    rows: int = 0
    hosts: dict[str, HostFacts] = field(default_factory=dict)
    flows: dict[tuple[str, str, int | None, str, str], FlowFacts] = field(default_factory=dict)
    complete: bool = True
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "hosts": [h.as_json() for h in self.hosts.values()],
            "flows": [f.as_json() for f in self.flows.values()],
        }

    def host(self, ip: str) -> HostFacts:
        facts = self.hosts.get(ip)
        if facts is None:
            facts = self.hosts[ip] = HostFacts(ip=ip)
        return facts


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- low level: rows --------------------------------------------------------------------------
@dataclass
class _Header:
    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str = ""
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def _unescape(value: str) -> str:
    # The header writes the separator as "\x09"; only \xHH escapes are Zeek's, any other
    # backslash is kept as it is.
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


#: a gzip'd log inflating more than this many times its compressed size is a bomb (text logs
#: compress about 10:1; repeated rows or zeros up to 1000:1) ...
GZIP_MAX_RATIO = 100
#: ... once past this many inflated bytes (tiny files may compress better)
GZIP_RATIO_FLOOR = 1024 * 1024
#: compressed bytes handed to the inflater at a time, so the count tracks what was inflated
_GZIP_STEP = 4096


class _Counted(io.RawIOBase):
    """Hands a stream out in small reads and counts them (the compressed side of _Gunzip)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(min(len(buffer), _GZIP_STEP))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Gunzip(io.RawIOBase):
    """Inflates a gzip'd log, refusing it with ZeekError the moment it looks like a bomb."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.counted = _Counted(raw)
        self.gzip = gzip.GzipFile(fileobj=self.counted)
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.gzip.read(len(buffer))
        self.out += len(data)
        if self.out > GZIP_RATIO_FLOOR and self.out > GZIP_MAX_RATIO * max(self.counted.count, 1):
            raise ZeekError(
                f"the gzip file inflates more than {GZIP_MAX_RATIO} times its size; "
                "refused as a possible bomb"
            )
        buffer[: len(data)] = data
        return len(data)


def _open_text(stream: IO[bytes]) -> io.TextIOWrapper:
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == b"\x1f\x8b":
        stream = io.BufferedReader(_Gunzip(stream))  # type: ignore[assignment]
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="\n")


def _tsv_rows(lines: Iterator[str], first: str, log: ZeekLog) -> Iterator[dict[str, Any]]:
    header = _Header()
    pending: list[str] = [first]

    def all_lines() -> Iterator[str]:
        yield from pending
        yield from lines

    number = 0
    for raw in all_lines():
        number += 1
        line = raw.rstrip("\n").rstrip("\r")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#separator"):
                header.separator = _unescape(line.split(" ", 1)[1]) if " " in line else "\t"
                continue
            name, _, value = line[1:].partition(header.separator)
            if name == "set_separator":
                header.set_separator = value
            elif name == "empty_field":
                header.empty = value
            elif name == "unset_field":
                header.unset = value
            elif name == "path":
                header.path = value
            elif name == "fields":
                header.fields = value.split(header.separator)
            elif name == "types":
                header.types = value.split(header.separator)
            if name == "path" and not log.kind:
                log.kind = value
            continue
        if not header.fields:
            raise ZeekError(f"line {number}: data before the #fields header")
        values = line.split(header.separator)
        if len(values) != len(header.fields):
            log.complete = False
            log.warnings.append(
                f"line {number}: {len(values)} columns where #fields names "
                f"{len(header.fields)}; row skipped (truncated or damaged)"
            )
            continue
        row: dict[str, Any] = {}
        types = header.types if len(header.types) == len(header.fields) else []
        for i, (name, value) in enumerate(zip(header.fields, values, strict=True)):
            kind = types[i] if types else ""
            if value == header.unset:
                continue
            if kind.startswith(("set[", "vector[", "table[")):
                row[name] = [] if value == header.empty else value.split(header.set_separator)
            else:
                row[name] = value
        yield row


def _json_rows(lines: Iterator[str], first: str, log: ZeekLog) -> Iterator[dict[str, Any]]:
    number = 0
    for raw in _chain(first, lines):
        number += 1
        line = raw.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            log.complete = False
            log.warnings.append(f"line {number}: not JSON ({exc.msg}); row skipped")
            continue
        if not isinstance(row, dict):
            log.complete = False
            log.warnings.append(f"line {number}: not a JSON object; row skipped")
            continue
        yield row


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


# --- values -----------------------------------------------------------------------------------
def _time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            return None  # a time no clock can show (e.g. milliseconds written as seconds)
    text = str(value)
    # Zeek writes epoch seconds; JSON logs may carry ISO 8601 instead.
    with contextlib.suppress(ValueError, OverflowError, OSError):
        return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # e.g. BTest baselines replace timestamps by XXXX
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _count(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):  # OverflowError: "1e999" is infinite
        return 0


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


def _unicast(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (address.is_multicast or address.is_unspecified or str(address) == "255.255.255.255")


def _mac(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if len(text) == 17 and text.count(":") == 5 else ""


def _guess_kind(fields: set[str]) -> str:
    if "conn_state" in fields or {"orig_pkts", "resp_pkts"} <= fields:
        return "conn"
    if "query" in fields and ("qtype" in fields or "qtype_name" in fields):
        return "dns"
    if "mac" in fields and ({"assigned_ip", "assigned_addr", "msg_types", "lease_time"} & fields):
        return "dhcp"
    if {"calling_ae", "called_ae"} & fields:
        return "dicom"
    if {"sending_application", "receiving_application"} & fields:
        return "hl7"
    return ""


# --- summarising ------------------------------------------------------------------------------
def _conn(log: ZeekLog, row: dict[str, Any]) -> None:
    src, dst = row.get("id.orig_h"), row.get("id.resp_h")
    if not src or not dst:
        return
    when = _time(row.get("ts"))
    end = when
    if when is not None and row.get("duration") not in (None, ""):
        try:
            end = when + dt.timedelta(seconds=float(row["duration"]))
        except (ValueError, OverflowError):
            end = when
    transport = str(row.get("proto") or "").lower()
    port_text = str(row.get("id.resp_p", "")).strip()
    # Anything but a whole number 0-65535 is not a port: a damaged or hostile log.
    whole = port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
    port = int(port_text) if whole and int(port_text) <= 65535 else None
    services = _list(row.get("service"))
    protocol = SERVICES.get(services[0].lower(), services[0].upper()) if services else ""
    answered = _count(row.get("resp_pkts")) > 0 or row.get("conn_state") in ("SF", "S1", "RSTO")
    if _unicast(src):
        facts = log.host(src)
        facts.seen(when)
        facts.seen(end)
        if protocol:
            facts.protocols.add(protocol)
        if not facts.mac:
            facts.mac = _mac(row.get("orig_l2_addr"))
    if _unicast(dst) and answered:
        facts = log.host(dst)
        facts.seen(when)
        facts.seen(end)
        if protocol:
            facts.protocols.add(protocol)
        if not facts.mac:
            facts.mac = _mac(row.get("resp_l2_addr"))
    if not (_unicast(src) and _unicast(dst)):
        return
    key = (src, dst, port, transport, protocol)
    flow = log.flows.get(key)
    if flow is None:
        flow = log.flows[key] = FlowFacts(src, dst, port, transport, protocol)
    flow.connections += 1
    flow.packets += _count(row.get("orig_pkts")) + _count(row.get("resp_pkts"))
    flow.bytes += _count(row.get("orig_ip_bytes")) + _count(row.get("resp_ip_bytes"))
    for moment in (when, end):
        if moment is None:
            continue
        if flow.first_seen is None or moment < flow.first_seen:
            flow.first_seen = moment
        if flow.last_seen is None or moment > flow.last_seen:
            flow.last_seen = moment


def _dhcp(log: ZeekLog, row: dict[str, Any]) -> None:
    # Zeek >= 3: client_addr/assigned_addr/host_name; Bro 2.x: id.orig_h/assigned_ip
    ip = row.get("assigned_addr") or row.get("client_addr") or row.get("assigned_ip")
    if not ip or not _unicast(str(ip)):
        return
    facts = log.host(str(ip))
    facts.seen(_time(row.get("ts")))
    facts.protocols.add("DHCP")
    mac = _mac(row.get("mac"))
    if mac:
        facts.mac = mac
    for name in (row.get("host_name"), row.get("client_fqdn")):
        if name and str(name) not in facts.hostnames:
            facts.hostnames.append(str(name))
    if row.get("client_software"):
        facts.vendor_class = str(row["client_software"])


def _dns(log: ZeekLog, row: dict[str, Any]) -> None:
    """A name answered with an address is that address's hostname (A/AAAA answers only)."""
    query = row.get("query")
    if not query or str(row.get("qtype_name", "")) not in ("A", "AAAA"):
        return
    for answer in _list(row.get("answers")):
        if not _unicast(answer):
            continue  # a CNAME in the chain, or no usable address
        facts = log.host(answer)
        if str(query) not in facts.hostnames:
            facts.hostnames.append(str(query))


def _text(value: Any) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _dicom(log: ZeekLog, row: dict[str, Any]) -> None:
    src, dst = row.get("id.orig_h"), row.get("id.resp_h")
    when = _time(row.get("ts"))
    for ip, key in ((src, "calling_ae"), (dst, "called_ae")):
        title = _text(row.get(key))
        if ip and title:
            facts = log.host(str(ip))
            facts.dicom_ae_titles.add(title)
            facts.protocols.add("DICOM")
            facts.seen(when)


def _hl7(log: ZeekLog, row: dict[str, Any]) -> None:
    src, dst = row.get("id.orig_h"), row.get("id.resp_h")
    when = _time(row.get("ts"))
    for ip, side in ((src, "sending"), (dst, "receiving")):
        if not ip:
            continue
        facts = log.host(str(ip))
        facts.protocols.add("HL7")
        facts.seen(when)
        app, facility = _text(row.get(f"{side}_application")), _text(row.get(f"{side}_facility"))
        if app:
            facts.hl7_applications.add(app)
        if facility:
            facts.hl7_facilities.add(facility)


_SUMMARISERS = {"conn": _conn, "dhcp": _dhcp, "dns": _dns, "dicom": _dicom, "hl7": _hl7}


def read_zeek(source: str | Path | IO[bytes], *, kind: str = "") -> ZeekLog:
    """Summarise one Zeek log; the kind comes from ``#path``, else from the fields present."""
    if isinstance(source, str | Path):
        with open(source, "rb") as stream:
            return read_zeek(io.BufferedReader(stream), kind=kind)  # type: ignore[arg-type]
    try:
        text = _open_text(source)
        lines = iter(text)
        first = ""
        for first in lines:
            if first.strip():
                break
        stripped = first.lstrip()
        if stripped.startswith("#"):
            log = ZeekLog(kind="", format="tsv")
            rows = _tsv_rows(lines, first, log)
        elif stripped.startswith("{"):
            log = ZeekLog(kind="", format="json")
            rows = _json_rows(lines, first, log)
        elif not stripped:
            raise ZeekError("the file is empty")
        else:
            raise ZeekError("not a Zeek log: neither a #separator header nor JSON lines")
        summarise = None
        for row in rows:
            if summarise is None:
                # BTest baselines name the kind in a comment; #path in real logs
                found = kind or (log.kind if log.kind in KINDS else "") or _guess_kind(set(row))
                log.kind = found or log.kind
                summarise = _SUMMARISERS.get(found)
                if summarise is None:
                    what = f"a Zeek {log.kind} log" if log.kind else "a Zeek log of unknown type"
                    raise ZeekError(f"{what}: medshield reads {', '.join(KINDS)} logs")
            log.rows += 1
            summarise(log, row)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        # A gzip file cut short: keep what was read
        if "log" not in locals():
            raise ZeekError(f"cannot read the file: {exc}") from None
        log.complete = False
        log.warnings.append(f"the file breaks off ({exc}); kept the rows read before it")
    except UnicodeDecodeError as exc:  # pragma: no cover - errors="replace" prevents it
        raise ZeekError(f"not a text file: {exc}") from None
    if log.rows == 0 and not log.kind:
        raise ZeekError("a Zeek log header without rows: nothing to read")
    return log
