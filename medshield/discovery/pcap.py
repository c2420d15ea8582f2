"""Streaming pcap/pcapng reader: hosts, flows and medical-protocol facts from one capture.

Pure Python, no Django. ``read_capture(path)`` returns a :class:`Capture` whose ``as_json()`` is the
output of ``medshield discover pcap``.

Why the headers are parsed by hand: object-per-layer libraries are the bottleneck on this task
(dpkt about 54 k packets/s, scapy about 3 k, pyshark under 300 on the same 200 k-packet hospital
capture; see shared/research/performance.md 3.2), while ``struct.unpack_from`` on the read buffer,
without slicing a packet until an application parser needs its payload, runs at several hundred
thousand packets/s. The loop below therefore reads the file in large chunks, walks the record
headers in place and decodes only Ethernet/VLAN/SLL, IPv4/IPv6 and TCP/UDP headers for every
packet. Payloads are copied only for connections whose application protocol is still unknown or
that carry HL7 (every message has an MSH to read); once a connection is classified, its packets
cost a dictionary lookup and four additions.

Memory is constant apart from the connection, flow and host tables: the file is read in 4 MiB
chunks, and per-connection stream buffers are capped (:data:`STREAM_CAP`).

Flows are aggregated the way a register declares them: (client, server, server port, transport),
over every connection between the two, packets and bytes counting both directions and ``bytes``
being frame lengths on the wire. The client of a TCP connection is the sender of the SYN when the
capture holds it (the SYN-ACK's receiver otherwise), else the endpoint with the higher port.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from struct import Struct, unpack_from
from typing import Any

from medshield.discovery.protocols import (
    HTTP_METHODS,
    looks_like_dicom_associate,
    parse_dhcp,
    parse_dicom_associate,
    parse_dns_answers,
    parse_http_request,
    parse_msh,
    parse_tls_sni,
)

__all__ = ["Capture", "CaptureError", "Flow", "Host", "read_capture", "STREAM_CAP"]

#: Per-direction reassembly buffer cap (bytes) for a connection still being inspected
STREAM_CAP = 65536
#: Payload segments inspected per connection before it is labelled plain tcp
MAX_PROBE_SEGMENTS = 6
#: Read size; large enough that the per-chunk carry-over copy costs nothing measurable
CHUNK = 4 << 20
#: A record claiming more than this is corruption, not a packet (jumbo frames are 9 KB, TSO 64 KB)
MAX_RECORD = 1 << 18

# Application labels, in the order a flow's label is chosen when its connections differ
_PRIORITY = {"dicom": 7, "hl7": 6, "tls": 5, "http": 4, "dns": 3, "dhcp": 2, "tcp": 0, "udp": 0}

_TCP, _UDP = 6, 17
_LINK_NAMES = {
    0: "null",
    1: "ethernet",
    12: "raw",
    14: "raw",
    101: "raw",
    108: "loop",
    113: "linux-sll",
    228: "ipv4",
    229: "ipv6",
    276: "linux-sll2",
}


class CaptureError(Exception):
    """The file cannot be read as a capture at all (the message names the problem)."""


@dataclass(frozen=True)
class Host:
    ip: str | None
    mac: str | None = None
    hostnames: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    dicom_ae_titles: list[str] = field(default_factory=list)
    hl7_applications: list[str] = field(default_factory=list)
    hl7_facilities: list[str] = field(default_factory=list)
    hl7_message_types: list[str] = field(default_factory=list)
    vendor_class: str | None = None
    user_agents: list[str] = field(default_factory=list)
    tls_sni: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ip": self.ip,
            "mac": self.mac,
            "hostnames": self.hostnames,
            "protocols": self.protocols,
            "dicom_ae_titles": self.dicom_ae_titles,
            "hl7_applications": self.hl7_applications,
            "hl7_facilities": self.hl7_facilities,
        }
        # Optional facts appear only where the capture shows them
        if self.hl7_message_types:
            out["hl7_message_types"] = self.hl7_message_types
        if self.vendor_class:
            out["vendor_class"] = self.vendor_class
        if self.user_agents:
            out["user_agents"] = self.user_agents
        if self.tls_sni:
            out["tls_sni"] = self.tls_sni
        return out


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    dst_port: int
    transport: str
    protocol: str
    packets: int
    bytes: int
    first_seen: str
    last_seen: str

    def as_json(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "dst_port": self.dst_port,
            "transport": self.transport,
            "protocol": self.protocol,
            "packets": self.packets,
            "bytes": self.bytes,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True)
class Capture:
    hosts: list[Host]
    flows: list[Flow]
    warnings: list[str]
    packets: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "hosts": [h.as_json() for h in self.hosts],
            "flows": [f.as_json() for f in self.flows],
        }


# --------------------------------------------------------------------------------------------
# Connection state


class _Conn:
    """One TCP or UDP connection (5-tuple), both directions."""

    __slots__ = ("flow", "label", "inspect", "bufs", "seqs", "probes", "hl7", "client", "server")

    def __init__(self, flow: list, client: bytes, server: bytes) -> None:
        self.flow = flow  # the aggregated flow record: [packets, bytes, first, last, label]
        self.label = ""
        self.inspect = True
        self.bufs = [b"", b""]  # index 0: client to server, 1: server to client
        self.seqs: list[int | None] = [None, None]
        self.probes = 0
        self.hl7 = False
        self.client = client
        self.server = server


#: pcapng blocks that are known but carry nothing we read: section header (handled where it is
#: met), name resolution, interface statistics, systemd journal export, decryption secrets, and
#: custom blocks. Anything else is reported once as unknown.
_BLOCKS_WITHOUT_PACKETS = frozenset({0x0A0D0D0A, 4, 5, 9, 10, 0xBAD, 0x40000BAD})


def _key(buf: bytes, addr: int, l4: int, n: int) -> bytes:
    """Addresses then ports, when options or extension headers separate them."""
    return buf[addr : addr + n] + buf[l4 : l4 + 4]


def _split_key(key: bytes) -> tuple[bytes, int, bytes, int, bytes]:
    """(src, sport, dst, dport, reverse key) from a connection key."""
    n = (len(key) - 4) // 2
    src, dst, ports = key[:n], key[n : 2 * n], key[2 * n :]
    return (
        src,
        (ports[0] << 8) | ports[1],
        dst,
        (ports[2] << 8) | ports[3],
        dst + src + ports[2:] + ports[:2],
    )


def _ts_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_ip_cache: dict[bytes, str] = {}


def _ip_str(raw: bytes) -> str:
    s = _ip_cache.get(raw)
    if s is None:
        s = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        _ip_cache[raw] = s
    return s


def _mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _is_host_address(raw: bytes) -> bool:
    """Unicast, specified addresses only: no broadcast, multicast or 0.0.0.0/::."""
    if len(raw) == 4:
        return (
            raw != b"\x00\x00\x00\x00" and raw != b"\xff\xff\xff\xff" and not 224 <= raw[0] <= 239
        )
    return raw[0] != 0xFF and raw != bytes(16)


class _Analyzer:
    """Accumulates flows and facts packet by packet."""

    def __init__(self) -> None:
        self.tcp: dict[tuple, tuple] = {}
        self.udp: dict[tuple, tuple] = {}
        self.flows: dict[tuple, list] = {}
        self.macs: dict[bytes, bytes] = {}
        self.facts: dict[str, dict[bytes, set[str]]] = {
            k: {}
            for k in (
                "hostnames",
                "dicom_ae_titles",
                "hl7_applications",
                "hl7_facilities",
                "hl7_message_types",
                "user_agents",
                "tls_sni",
            )
        }
        self.vendor_class: dict[bytes, str] = {}
        self.hl7_seen: set[tuple] = set()
        self.dhcp_by_mac: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self.packets = 0
        self.skipped_link: dict[int, int] = {}
        self.truncated_packets = 0

    # ---- facts ----------------------------------------------------------------------------

    def _fact(self, kind: str, ip: bytes, value: str) -> None:
        if value:
            self.facts[kind].setdefault(ip, set()).add(value)

    # ---- link layer -----------------------------------------------------------------------

    def packet(self, ts: float, buf: bytes, off: int, end: int, wirelen: int, link: int) -> None:
        """One captured frame ``buf[off:end]`` of ``wirelen`` bytes on the wire."""
        if link == 1:  # Ethernet II, with any number of 802.1Q / 802.1ad / QinQ tags
            if end - off < 14:
                return
            etype = (buf[off + 12] << 8) | buf[off + 13]
            p = off + 14
            while etype == 0x8100 or etype == 0x88A8 or etype == 0x9100:
                if end - p < 4:
                    return
                etype = (buf[p + 2] << 8) | buf[p + 3]
                p += 4
        elif link == 113:  # Linux cooked v1: 16 bytes, protocol last, sender address at 6
            if end - off < 16:
                return
            etype = (buf[off + 14] << 8) | buf[off + 15]
            p = off + 16
        elif link == 276:  # Linux cooked v2: 20 bytes, protocol first, address length at 11
            if end - off < 20:
                return
            etype = (buf[off] << 8) | buf[off + 1]
            p = off + 20
        elif link in (101, 12, 14, 228, 229):  # raw IP
            if end <= off:
                return
            etype = 0x86DD if buf[off] >> 4 == 6 else 0x0800
            p = off
        elif link == 0 or link == 108:  # BSD loopback: 4-byte address family
            if end - off < 4:
                return
            fam = unpack_from("<I" if link == 0 else ">I", buf, off)[0]
            if fam > 0xFFFF:
                fam = unpack_from(">I" if link == 0 else "<I", buf, off)[0]
            etype = 0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else 0
            p = off + 4
        else:
            self.skipped_link[link] = self.skipped_link.get(link, 0) + 1
            return

        # ---- network layer ----------------------------------------------------------------
        if etype == 0x0800:
            if end - p < 20:
                self.truncated_packets += 1
                return
            vihl = buf[p]
            ihl = (vihl & 15) << 2
            if vihl >> 4 != 4 or ihl < 20:
                return
            total = (buf[p + 2] << 8) | buf[p + 3]
            if (buf[p + 6] & 0x1F) | buf[p + 7]:  # a non-first fragment has no ports
                return
            proto = buf[p + 9]
            addr, alen = p + 12, 8
            # The payload ends at the IP total length, not the frame end: Ethernet pads short
            # frames to 60 bytes (the padding is not payload)
            lend = p + total
            if lend > end or total < ihl:
                lend = end
            p += ihl
        elif etype == 0x86DD:
            if end - p < 40:
                self.truncated_packets += 1
                return
            plen = (buf[p + 4] << 8) | buf[p + 5]
            proto = buf[p + 6]
            addr, alen = p + 8, 32
            p += 40
            lend = p + plen
            if lend > end or plen == 0:
                lend = end
            # Extension headers: hop-by-hop, routing, destination options, fragment
            while proto in (0, 43, 60, 44):
                if lend - p < 8:
                    return
                if proto == 44:
                    if unpack_from(">H", buf, p + 2)[0] & 0xFFF8:
                        return
                    proto = buf[p]
                    p += 8
                else:
                    proto, hlen = buf[p], (buf[p + 1] + 1) << 3
                    p += hlen
        else:
            return

        # ---- transport layer --------------------------------------------------------------
        if proto == _TCP:
            if lend - p < 20:
                self.truncated_packets += 1
                return
            # Connection key: addresses and ports, one slice when they are contiguous (no IP
            # options or IPv6 extension headers), which is nearly always
            key = buf[addr : p + 4] if p - addr == alen else _key(buf, addr, p, alen)
            state = self.tcp.get(key)
            if state is None:
                state = self._new_tcp(key, buf[p + 13], ts, buf, off, link)
            conn, direction = state
            f = conn.flow
            f[0] += 1
            f[1] += wirelen
            if ts > f[3]:
                f[3] = ts
            elif ts < f[2]:
                f[2] = ts
            if conn.inspect and (poff := p + ((buf[p + 12] >> 4) << 2)) < lend:
                self._tcp_payload(
                    conn, direction, unpack_from(">I", buf, p + 4)[0], buf, poff, lend
                )
        elif proto == _UDP:
            if lend - p < 8:
                self.truncated_packets += 1
                return
            key = buf[addr : p + 4] if p - addr == alen else _key(buf, addr, p, alen)
            state = self.udp.get(key)
            if state is None:
                state = self._new_udp(key, ts, buf, off, link)
            conn, direction = state
            f = conn.flow
            f[0] += 1
            f[1] += wirelen
            if ts > f[3]:
                f[3] = ts
            elif ts < f[2]:
                f[2] = ts
            if conn.inspect:
                self._udp_payload(conn, buf[p + 8 : lend])

    # ---- connections ----------------------------------------------------------------------

    def _learn_macs(self, src: bytes, dst: bytes, buf: bytes, off: int, link: int) -> None:
        # Only on a connection's first packet: the hot path never slices MAC addresses
        if link == 1:
            self._learn_mac(src, buf[off + 6 : off + 12])
            self._learn_mac(dst, buf[off : off + 6])
        elif link == 113 and buf[off + 4] == 0 and buf[off + 5] == 6:
            self._learn_mac(src, buf[off + 6 : off + 12])
        elif link == 276 and buf[off + 11] == 6:
            self._learn_mac(src, buf[off + 12 : off + 18])

    def _learn_mac(self, ip: bytes, mac: bytes | None) -> None:
        if mac and mac != b"\x00\x00\x00\x00\x00\x00" and not mac[0] & 1 and ip not in self.macs:
            self.macs[ip] = mac

    def _flow(self, client: bytes, server: bytes, port: int, transport: int, ts: float) -> list:
        key = (client, server, port, transport)
        f = self.flows.get(key)
        if f is None:
            f = self.flows[key] = [0, 0, ts, ts, ""]
        return f

    def _new_tcp(self, key: bytes, flags: int, ts: float, buf: bytes, off: int, link: int) -> tuple:
        src, sport, dst, dport, rkey = _split_key(key)
        self._learn_macs(src, dst, buf, off, link)
        syn, ack = flags & 2, flags & 16
        if syn and not ack:
            src_is_client = True
        elif syn and ack:
            src_is_client = False
        else:
            src_is_client = sport > dport or (sport == dport and src <= dst)
        if src_is_client:
            client, server, port = src, dst, dport
        else:
            client, server, port = dst, src, sport
        conn = _Conn(self._flow(client, server, port, _TCP, ts), client, server)
        fwd = (conn, 0 if src_is_client else 1)
        rev = (conn, 1 if src_is_client else 0)
        self.tcp[key] = fwd
        self.tcp[rkey] = rev
        return fwd

    def _new_udp(self, key: bytes, ts: float, buf: bytes, off: int, link: int) -> tuple:
        src, sport, dst, dport, rkey = _split_key(key)
        self._learn_macs(src, dst, buf, off, link)
        # UDP has no handshake: the lower port is the service; equal ports, the first sender
        src_is_client = sport >= dport
        if src_is_client:
            client, server, port = src, dst, dport
        else:
            client, server, port = dst, src, sport
        conn = _Conn(self._flow(client, server, port, _UDP, ts), client, server)
        if port in (53, 5353, 5355):
            conn.label = "dns"
        elif port in (67, 68):
            conn.label = "dhcp"
        else:
            conn.inspect = False
            conn.label = "udp"
        self._set_label(conn, conn.label)
        fwd = (conn, 0 if src_is_client else 1)
        self.udp[key] = fwd
        self.udp[rkey] = (conn, 1 if src_is_client else 0)
        return fwd

    def _set_label(self, conn: _Conn, label: str) -> None:
        conn.label = label
        f = conn.flow
        if _PRIORITY[label] > _PRIORITY.get(f[4], -1):
            f[4] = label

    # ---- UDP applications -----------------------------------------------------------------

    def _udp_payload(self, conn: _Conn, data: bytes) -> None:
        if conn.label == "dns":
            for name, addr in parse_dns_answers(data):
                self._fact("hostnames", addr, name)
        elif conn.label == "dhcp":
            facts = parse_dhcp(data)
            if facts is None:
                return
            mac, address, hostname, vendor, _ = facts
            entry = self.dhcp_by_mac.setdefault(mac, {"ips": set(), "hostname": None, "vc": None})
            if address:
                entry["ips"].add(address)
            if hostname:
                entry["hostname"] = hostname
            if vendor:
                entry["vc"] = vendor

    # ---- TCP applications -----------------------------------------------------------------

    def _tcp_payload(self, conn: _Conn, d: int, seq: int, buf: bytes, poff: int, lend: int) -> None:
        data = buf[poff:lend]
        # Minimal in-order reassembly: drop retransmitted bytes, restart the stream after a gap
        expected = conn.seqs[d]
        if expected is not None and seq != expected:
            diff = (seq - expected) & 0xFFFFFFFF
            if diff < 0x80000000:  # gap: bytes missing from the capture
                conn.bufs[d] = b""
            else:
                overlap = (expected - seq) & 0xFFFFFFFF
                if overlap >= len(data):
                    return
                data = data[overlap:]
                seq = expected
        conn.seqs[d] = (seq + len(data)) & 0xFFFFFFFF
        stream = conn.bufs[d] + data if conn.bufs[d] else data
        if conn.hl7:
            conn.bufs[d] = self._hl7(conn, d, stream)
            return
        conn.probes += 1
        if d == 0 and conn.probes <= MAX_PROBE_SEGMENTS * 2:
            stream = self._probe_client(conn, stream)
        elif d == 1:
            stream = self._probe_server(conn, stream)
        if conn.hl7:
            conn.bufs[d] = self._hl7(conn, d, stream)
            return
        if not conn.inspect:
            conn.bufs = [b"", b""]
            return
        conn.bufs[d] = stream[:STREAM_CAP] if stream else b""
        if conn.probes > MAX_PROBE_SEGMENTS and not conn.label:
            self._set_label(conn, "tcp")
            self._done(conn)

    def _done(self, conn: _Conn) -> None:
        conn.inspect = False
        conn.bufs = [b"", b""]
        if not conn.label:
            self._set_label(conn, "tcp")

    def _probe_client(self, conn: _Conn, s: bytes) -> bytes:
        """Classify a client-to-server stream by its first bytes. Returns what to keep buffered."""
        b0 = s[0]
        if b0 == 0x01 and len(s) >= 8 and looks_like_dicom_associate(s):
            if len(s) < 42:
                return s  # wait for the AE titles
            assoc = parse_dicom_associate(s)
            if assoc is not None:
                self._set_label(conn, "dicom")
                self._fact("dicom_ae_titles", conn.client, assoc.calling)
                self._fact("dicom_ae_titles", conn.server, assoc.called)
                self._done(conn)
                return b""
        elif b0 == 0x0B:
            if len(s) < 4:
                return s
            if s[1:4] == b"MSH":
                conn.hl7 = True
                self._set_label(conn, "hl7")
                return s
        elif b0 == 0x16:
            if len(s) < 6:
                return s
            if s[1] == 3 and s[5] == 1:
                rec_len = (s[3] << 8) | s[4]
                if len(s) < 5 + rec_len and len(s) < STREAM_CAP:
                    return s  # ClientHello spans segments
                self._set_label(conn, "tls")
                sni = parse_tls_sni(s)
                if sni:
                    self._fact("tls_sni", conn.server, sni)
                self._done(conn)
                return b""
        elif s[:4] in HTTP_METHODS:
            if b"\r\n\r\n" not in s and len(s) < 8192:
                return s
            req = parse_http_request(s)
            if req is not None:
                host, agent = req
                self._set_label(conn, "http")
                if host:
                    self._fact("hostnames", conn.server, host.rsplit(":", 1)[0].lower())
                if agent:
                    self._fact("user_agents", conn.client, agent)
                self._done(conn)
                return b""
        elif len(s) < 4:
            return s
        return b""

    def _probe_server(self, conn: _Conn, s: bytes) -> bytes:
        """Server-to-client bytes: an A-ASSOCIATE-AC or an MLLP reply confirms the protocol."""
        if conn.label:
            return b""
        b0 = s[0]
        if b0 == 0x02 and looks_like_dicom_associate(s):
            if len(s) < 42:
                return s
            assoc = parse_dicom_associate(s)
            if assoc is not None:
                # The accept echoes the request's titles (PS3.8 9.3.3): called is the server's
                self._set_label(conn, "dicom")
                self._fact("dicom_ae_titles", conn.server, assoc.called)
                self._fact("dicom_ae_titles", conn.client, assoc.calling)
                self._done(conn)
        elif b0 == 0x0B and len(s) >= 4 and s[1:4] == b"MSH":
            conn.hl7 = True
            self._set_label(conn, "hl7")
            return s
        return b""

    def _hl7(self, conn: _Conn, d: int, s: bytes) -> bytes:
        """Read the MSH of every MLLP-framed message in ``s``; return the unread tail (capped)."""
        sender, receiver = (conn.client, conn.server) if d == 0 else (conn.server, conn.client)
        pos = 0
        while True:
            start = s.find(b"\x0b", pos)
            if start < 0:
                return b""
            # The MSH segment ends at the first CR (segment terminator); a message cut before it
            # waits in the buffer for the next segment
            seg_end = s.find(b"\r", start + 1)
            if seg_end < 0:
                fs = s.find(b"\x1c", start + 1)
                if fs < 0:
                    tail = s[start:]
                    return tail if len(tail) <= STREAM_CAP else b""
                seg_end = fs
            seg = s[start + 1 : seg_end]
            # Messages on one connection repeat their routing fields: parse each distinct set once
            sep = seg[3:4]
            parts = seg.split(sep, 9) if sep else ()
            seen_key = (sender, receiver, *parts[2:6], parts[8] if len(parts) > 8 else b"")
            if seen_key in self.hl7_seen:
                pos = seg_end + 1
                continue
            self.hl7_seen.add(seen_key)
            msh = parse_msh(seg)
            if msh is not None:
                s_app, s_fac, r_app, r_fac, mtype = msh
                self._fact("hl7_applications", sender, s_app)
                self._fact("hl7_facilities", sender, s_fac)
                self._fact("hl7_applications", receiver, r_app)
                self._fact("hl7_facilities", receiver, r_fac)
                self._fact("hl7_message_types", sender, mtype)
            pos = seg_end + 1

    # ---- results --------------------------------------------------------------------------

    def result(self) -> Capture:
        for link, n in sorted(self.skipped_link.items()):
            name = _LINK_NAMES.get(link, "unsupported")
            self.warnings.append(f"{n} packets with link type {link} ({name}) were skipped")
        if self.truncated_packets:
            self.warnings.append(
                f"{self.truncated_packets} packets were cut short by the snapshot length; "
                "their headers could not be read"
            )
        flows: list[Flow] = []
        protocols: dict[bytes, set[str]] = {}
        endpoints: set[bytes] = set()
        for (client, server, port, transport), (pk, by, first, last, label) in self.flows.items():
            if not pk:
                continue
            tname = "tcp" if transport == _TCP else "udp"
            label = label or tname
            flows.append(
                Flow(
                    _ip_str(client),
                    _ip_str(server),
                    port,
                    tname,
                    label,
                    pk,
                    by,
                    _ts_iso(first),
                    _ts_iso(last),
                )
            )
            for ip in (client, server):
                if _is_host_address(ip):
                    endpoints.add(ip)
                    protocols.setdefault(ip, set()).add(label)

        # DHCP: attach hostname and vendor class to the client's address, or keep a MAC-only host
        mac_only: list[Host] = []
        for mac, entry in self.dhcp_by_mac.items():
            ips = {ip for ip in entry["ips"] if _is_host_address(ip)}
            if not ips:
                ips = {ip for ip, m in self.macs.items() if _mac_str(m) == mac}
            raw_mac = bytes.fromhex(mac.replace(":", ""))
            for ip in ips:
                endpoints.add(ip)
                self.macs.setdefault(ip, raw_mac)
                protocols.setdefault(ip, set()).add("dhcp")
                if entry["hostname"]:
                    self._fact("hostnames", ip, entry["hostname"].lower())
                if entry["vc"]:
                    self.vendor_class[ip] = entry["vc"]
            if not ips:
                mac_only.append(
                    Host(
                        ip=None,
                        mac=mac,
                        hostnames=[entry["hostname"].lower()] if entry["hostname"] else [],
                        protocols=["dhcp"],
                        vendor_class=entry["vc"],
                    )
                )

        f = self.facts
        hosts = [
            Host(
                ip=_ip_str(ip),
                mac=_mac_str(self.macs[ip]) if ip in self.macs else None,
                hostnames=sorted(f["hostnames"].get(ip, ())),
                protocols=sorted(protocols.get(ip, ())),
                dicom_ae_titles=sorted(f["dicom_ae_titles"].get(ip, ())),
                hl7_applications=sorted(f["hl7_applications"].get(ip, ())),
                hl7_facilities=sorted(f["hl7_facilities"].get(ip, ())),
                hl7_message_types=sorted(f["hl7_message_types"].get(ip, ())),
                vendor_class=self.vendor_class.get(ip),
                user_agents=sorted(f["user_agents"].get(ip, ())),
                tls_sni=sorted(f["tls_sni"].get(ip, ())),
            )
            for ip in endpoints
        ]
        hosts.sort(key=_host_key)
        hosts.extend(sorted(mac_only, key=lambda h: h.mac or ""))
        flows.sort(key=lambda fl: (_addr_key(fl.src), _addr_key(fl.dst), fl.dst_port, fl.transport))
        return Capture(hosts=hosts, flows=flows, warnings=self.warnings, packets=self.packets)


def _addr_key(ip: str) -> tuple[int, bytes]:
    if ":" in ip:
        return (6, socket.inet_pton(socket.AF_INET6, ip))
    return (4, socket.inet_pton(socket.AF_INET, ip))


def _host_key(h: Host) -> tuple:
    return _addr_key(h.ip) if h.ip else (9, b"")


# --------------------------------------------------------------------------------------------
# File formats

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


def read_capture(
    path: str | Path, *, progress: Callable[[int, int], None] | None = None
) -> Capture:
    """Read a pcap or pcapng file; ``progress(bytes_read, file_size)`` is called per chunk.

    Raises :class:`CaptureError` when the file is not a capture (unknown magic, empty, unreadable
    header). A capture that is damaged part way through gives a partial result with a warning.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CaptureError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(24)
        analyzer = _Analyzer()
        if len(head) < 4:
            raise CaptureError(f"{path} is not a pcap or pcapng file: it is {len(head)} bytes long")
        magic = head[:4]
        if magic in _PCAP_MAGIC:
            if len(head) < 24:
                raise CaptureError(
                    f"{path}: pcap global header cut short ({len(head)} of 24 bytes)"
                )
            _read_pcap(fh, head, analyzer, size, progress)
        elif magic == _PCAPNG_SHB:
            fh.seek(0)
            _read_pcapng(fh, analyzer, size, progress)
        else:
            raise CaptureError(
                f"{path} is not a pcap or pcapng file (unknown magic number 0x{magic.hex()})"
            )
    return analyzer.result()


def _read_pcap(fh, head: bytes, an: _Analyzer, size: int, progress) -> None:
    order, scale = _PCAP_MAGIC[head[:4]]
    link = unpack_from(order + "I", head, 20)[0] & 0x0FFFFFFF  # upper bits: FCS flags
    rec = Struct(order + "IIII").unpack_from
    packet = an.packet
    buf = b""
    offset_base = 24  # file offset of buf[0]
    done = 0
    records = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        buf = buf[done:] + chunk if done < len(buf) else chunk
        offset_base += done
        n = len(buf)
        off = 0
        # Hot loop: one unpack and one call per packet
        while off + 16 <= n:
            sec, frac, incl, orig = rec(buf, off)
            end = off + 16 + incl
            if end > n:
                if incl > MAX_RECORD:
                    an.warnings.append(
                        f"corrupt record at byte {offset_base + off}: captured length {incl}; "
                        "stopped reading, the result is partial"
                    )
                    an.packets = records
                    return
                break
            packet(sec + frac * scale, buf, off + 16, end, orig, link)
            off = end
            records += 1
        done = off
        if progress is not None:
            progress(min(offset_base + done, size), size)
    an.packets = records
    if done < len(buf):
        left = len(buf) - done
        an.warnings.append(
            f"capture truncated: the last record at byte {offset_base + done} is cut short "
            f"({left} bytes left of a record); the result covers the {an.packets} packets before it"
        )


def _read_pcapng(fh, an: _Analyzer, size: int, progress) -> None:
    packet = an.packet
    buf = b""
    base = 0
    off = 0
    order = "<"
    interfaces: list[tuple[int, float]] = []  # (link type, seconds per timestamp unit)
    unknown: dict[int, int] = {}
    last_ts = 0.0
    hdr = Struct("<II").unpack_from
    epb = Struct("<IIIII").unpack_from
    eof = False
    while True:
        if len(buf) - off < 12 and not eof or (not eof and len(buf) - off < CHUNK // 2):
            chunk = fh.read(CHUNK)
            if not chunk:
                eof = True
            buf = buf[off:] + chunk
            base += off
            off = 0
            if progress is not None:
                progress(min(base + len(buf), size), size)
        n = len(buf)
        if n - off < 8:
            if n - off:
                an.warnings.append(
                    f"capture truncated: {n - off} stray bytes at byte {base + off}; ignored"
                )
            return
        btype, blen = hdr(buf, off)
        if btype == 0x0A0D0D0A:  # Section Header Block: byte order for the whole section
            if n - off < 12:
                an.warnings.append(f"capture truncated: section header at byte {base + off}")
                return
            bom = buf[off + 8 : off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                if base + off == 0:
                    raise CaptureError("not a pcapng file: bad byte-order magic in section header")
                an.warnings.append(f"corrupt section header at byte {base + off}; stopped")
                return
            hdr = Struct(order + "II").unpack_from
            epb = Struct(order + "IIIII").unpack_from
            btype, blen = hdr(buf, off)
            interfaces = []
        if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
            if base + off == 0:
                raise CaptureError(f"not a pcapng file: impossible first block length {blen}")
            an.warnings.append(
                f"corrupt block at byte {base + off} (length {blen}); stopped reading, "
                "the result is partial"
            )
            return
        if n - off < blen:
            if eof:
                an.warnings.append(
                    f"capture truncated: the block at byte {base + off} needs {blen} bytes, "
                    f"{n - off} remain; the result covers the {an.packets} packets before it"
                )
                return
            continue  # read more
        body = off + 8
        if btype == 6 or btype == 2:  # Enhanced Packet Block (and the obsolete Packet Block)
            if btype == 6:
                iface, hi, lo, incl, orig = epb(buf, body)
            else:
                iface, hi, lo, incl, orig = epb(buf, body)
                iface = iface & 0xFFFF if order == "<" else iface >> 16  # then 2 bytes of drops
            if iface < len(interfaces):
                link, unit = interfaces[iface]
                last_ts = ((hi << 32) | lo) * unit
                data = body + 20
                packet(last_ts, buf, data, min(data + incl, off + blen - 4), orig, link)
                an.packets += 1
            else:
                an.warnings.append(f"packet at byte {base + off} names unknown interface {iface}")
        elif btype == 3:  # Simple Packet Block: no timestamp, interface 0
            if interfaces:
                orig = hdr(buf, body)[0]
                data = body + 4
                packet(last_ts, buf, data, min(data + orig, off + blen - 4), orig, interfaces[0][0])
                an.packets += 1
        elif btype == 1:  # Interface Description Block
            link = unpack_from(order + "H", buf, body)[0]
            unit = 1e-6
            p = body + 8
            while p + 4 <= off + blen - 4:
                code, olen = unpack_from(order + "HH", buf, p)
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    r = buf[p + 4]
                    unit = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0**-r
                p += 4 + ((olen + 3) & ~3)
            interfaces.append((link, unit))
        elif btype not in _BLOCKS_WITHOUT_PACKETS:
            unknown[btype] = unknown.get(btype, 0) + 1
            if unknown[btype] == 1:
                an.warnings.append(
                    f"unknown pcapng block type 0x{btype:08x} at byte {base + off} skipped"
                )
        off += blen
