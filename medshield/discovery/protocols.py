"""Application-layer fact extractors for the pcap reader: pure Python, no Django.

Each function takes the bytes of one TCP stream chunk or UDP payload and returns the facts it found,
or ``None`` when the bytes are not that protocol. They never raise on malformed input: captures are
evidence from the field, and a cut-short or hostile packet must cost one fact, not the whole run.

References:
- DICOM PS3.8 section 9.3 (upper-layer PDUs): https://dicom.nema.org/medical/dicom/current/output/html/part08.html
- HL7 v2 MLLP (HL7 v2.5.1 appendix C) and MSH (chapter 2.14.9)
- RFC 8446 section 4.1.2 (ClientHello), RFC 6066 section 3 (server_name)
- RFC 1035 section 4 (DNS messages), RFC 2131/2132 (DHCP and its options)
"""

from __future__ import annotations

from struct import unpack_from

__all__ = [
    "DicomAssociate",
    "Hl7Header",
    "DhcpFacts",
    "HTTP_METHODS",
    "parse_dicom_associate",
    "looks_like_dicom_associate",
    "parse_msh",
    "parse_http_request",
    "parse_tls_sni",
    "parse_dns_answers",
    "parse_dhcp",
]

#: First four bytes of an HTTP/1.x request (method plus space, or the method's first four letters)
HTTP_METHODS = frozenset(
    {b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC"}
)

#: A-ASSOCIATE-RQ/AC: type(1) reserved(1) length(4) version(2) reserved(2) called(16) calling(16)
_DICOM_AE_END = 42


class DicomAssociate(tuple):
    """(pdu_type, called AE title, calling AE title); pdu_type 1 is a request, 2 an accept."""

    __slots__ = ()

    def __new__(cls, pdu_type: int, called: str, calling: str) -> DicomAssociate:
        return super().__new__(cls, (pdu_type, called, calling))

    @property
    def pdu_type(self) -> int:
        return self[0]

    @property
    def called(self) -> str:
        return self[1]

    @property
    def calling(self) -> str:
        return self[2]


def looks_like_dicom_associate(data: bytes) -> bool:
    """True when the first 8 bytes can start an A-ASSOCIATE-RQ/AC PDU (more bytes may follow)."""
    if len(data) < 8 or data[0] not in (1, 2) or data[1] != 0 or data[6:8] != b"\x00\x01":
        return False
    length = unpack_from(">I", data, 2)[0]
    # The variable part holds at least the application context and one presentation context;
    # real requests are a few hundred bytes, never megabytes.
    return 68 <= length <= 1 << 20


def _ae_title(raw: bytes) -> str | None:
    # AE titles are ASCII (the default character repertoire) padded with spaces; leading and
    # trailing spaces are not significant (PS3.5 6.2). Anything else means this is not DICOM.
    try:
        title = raw.decode("ascii").strip(" \x00")
    except UnicodeDecodeError:
        return None
    if not title or not title.isprintable() or "\\" in title:
        return None
    return title


def parse_dicom_associate(data: bytes) -> DicomAssociate | None:
    """The AE titles of an A-ASSOCIATE-RQ (type 0x01) or -AC (0x02) PDU at the start of ``data``."""
    if len(data) < _DICOM_AE_END or not looks_like_dicom_associate(data):
        return None
    called = _ae_title(data[10:26])
    calling = _ae_title(data[26:42])
    if called is None or calling is None:
        return None
    return DicomAssociate(data[0], called, calling)


class Hl7Header(tuple):
    """MSH-3..6 and MSH-9 of one HL7 v2 message (empty strings where the field is empty)."""

    __slots__ = ()

    def __new__(
        cls,
        sending_application: str,
        sending_facility: str,
        receiving_application: str,
        receiving_facility: str,
        message_type: str,
    ) -> Hl7Header:
        return super().__new__(
            cls,
            (
                sending_application,
                sending_facility,
                receiving_application,
                receiving_facility,
                message_type,
            ),
        )

    sending_application = property(lambda self: self[0])
    sending_facility = property(lambda self: self[1])
    receiving_application = property(lambda self: self[2])
    receiving_facility = property(lambda self: self[3])
    message_type = property(lambda self: self[4])


def _hd(value: str, component: str) -> str:
    # MSH-3..6 are HD (namespace ^ universal id ^ type): keep the namespace id, else universal id
    parts = value.split(component)
    for part in parts[:2]:
        if part.strip():
            return part.strip()
    return ""


def parse_msh(segment: bytes) -> Hl7Header | None:
    """Parse an MSH segment (``MSH|^~\\&|...`` up to, not including, the segment terminator).

    The field separator is MSH-1 (the byte after ``MSH``) and the component separator the first
    encoding character (MSH-2), so messages using other delimiters parse as well. Splitting on the
    separator shifts MSH numbering by one: element 1 is MSH-2, element 2 is MSH-3.
    """
    if len(segment) < 8 or segment[:3] != b"MSH":
        return None
    text = segment.decode("latin-1")
    sep = text[3]
    if sep.isalnum() or sep in "\r\n ":
        return None
    fields = text.split(sep)
    encoding = fields[1] if len(fields) > 1 else ""
    component = encoding[0] if encoding and encoding[0] != sep else "^"

    def field(n: int) -> str:
        return fields[n - 1] if len(fields) > n - 1 else ""

    msg_type = field(9)
    type_parts = [p for p in msg_type.split(component)[:2] if p]
    return Hl7Header(
        _hd(field(3), component),
        _hd(field(4), component),
        _hd(field(5), component),
        _hd(field(6), component),
        "^".join(type_parts),
    )


def parse_http_request(data: bytes) -> tuple[str | None, str | None] | None:
    """(Host, User-Agent) of the HTTP/1.x request head at the start of ``data``."""
    if data[:4] not in HTTP_METHODS:
        return None
    head_end = data.find(b"\r\n\r\n", 0, 16384)
    head = data[: head_end if head_end >= 0 else 16384]
    lines = head.split(b"\r\n")
    if b" HTTP/" not in lines[0]:
        return None
    host = agent = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"host":
            host = value.strip().decode("latin-1")
        elif lname == b"user-agent":
            agent = value.strip().decode("latin-1")
    return host, agent


def parse_tls_sni(data: bytes) -> str | None:
    """The server_name of a TLS ClientHello at the start of ``data``; None if absent/cut short."""
    try:
        if data[0] != 0x16 or data[1] != 3 or data[5] != 1:
            return None
        # record(5) handshake type(1) length(3) version(2) random(32)
        pos = 5 + 4 + 2 + 32
        pos += 1 + data[pos]  # session id
        pos += 2 + unpack_from(">H", data, pos)[0]  # cipher suites
        pos += 1 + data[pos]  # compression methods
        end = pos + 2 + unpack_from(">H", data, pos)[0]
        pos += 2
        end = min(end, len(data))
        while pos + 4 <= end:
            ext_type, ext_len = unpack_from(">HH", data, pos)
            pos += 4
            if ext_type == 0:  # server_name: list length(2), type(1)=0 host_name, length(2), name
                if data[pos + 2] == 0:
                    name_len = unpack_from(">H", data, pos + 3)[0]
                    name = data[pos + 5 : pos + 5 + name_len]
                    if len(name) == name_len:
                        return name.decode("ascii", "replace").lower()
                return None
            pos += ext_len
    except Exception:  # noqa: BLE001 - malformed ClientHello (IndexError, struct.error): no SNI
        return None
    return None


def _dns_name(data: bytes, pos: int) -> tuple[str, int]:
    """Read a possibly compressed domain name; returns (name, position after it in the record)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0 == 0xC0:
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            jumps += 1
            if jumps > 32:
                raise ValueError("DNS compression loop")
            continue
        labels.append(data[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    return ".".join(labels).lower(), (end if end >= 0 else pos)


def parse_dns_answers(data: bytes) -> list[tuple[str, bytes]]:
    """(name, address) for each A/AAAA record in a DNS or mDNS response (answers and additionals).

    CNAME chains are followed so that ``pacs.example`` -> ``pacs01.example`` -> 10.0.0.5 names the
    address with both names.
    """
    out: list[tuple[str, bytes]] = []
    try:
        if len(data) < 12 or not data[2] & 0x80:  # QR bit: responses only
            return out
        qd, an, ns, ar = unpack_from(">HHHH", data, 4)
        pos = 12
        for _ in range(qd):
            _, pos = _dns_name(data, pos)
            pos += 4
        aliases: dict[str, str] = {}
        for _ in range(an + ns + ar):
            name, pos = _dns_name(data, pos)
            rtype, _rclass, _ttl, rdlen = unpack_from(">HHIH", data, pos)
            pos += 10
            rdata_pos = pos
            pos += rdlen
            if pos > len(data):
                break
            if (rtype == 1 and rdlen == 4) or (rtype == 28 and rdlen == 16):
                out.append((name, data[rdata_pos:pos]))
            elif rtype == 5:  # CNAME
                target, _ = _dns_name(data, rdata_pos)
                aliases[target] = name
        if aliases:
            for name, addr in list(out):
                seen = {name}
                while name in aliases and aliases[name] not in seen:
                    name = aliases[name]
                    seen.add(name)
                    out.append((name, addr))
    except Exception:  # noqa: BLE001 - malformed DNS: keep what was read so far
        return out
    return out


class DhcpFacts(tuple):
    """(client MAC, address, hostname, vendor class, message type) from one DHCP/BOOTP message."""

    __slots__ = ()

    def __new__(
        cls,
        mac: str,
        address: bytes | None,
        hostname: str | None,
        vendor_class: str | None,
        message_type: int | None,
    ) -> DhcpFacts:
        return super().__new__(cls, (mac, address, hostname, vendor_class, message_type))

    mac = property(lambda self: self[0])
    address = property(lambda self: self[1])
    hostname = property(lambda self: self[2])
    vendor_class = property(lambda self: self[3])
    message_type = property(lambda self: self[4])


_ZERO4 = b"\x00\x00\x00\x00"


def parse_dhcp(data: bytes) -> DhcpFacts | None:
    """Client facts of one BOOTP/DHCP message (RFC 2131 layout, RFC 2132 options 12, 50, 53, 60).

    The address is the one the client holds or is given: yiaddr in a server's reply, ciaddr, or the
    requested address (option 50) of a DHCPREQUEST. Option 12/60 sent by a server are not the
    client's, so they are kept only from client messages (op 1).
    """
    if len(data) < 240 or data[236:240] != b"\x63\x82\x53\x63" or data[1] != 1 or data[2] != 6:
        return None
    op = data[0]
    mac = ":".join(f"{b:02x}" for b in data[28:34])
    ciaddr, yiaddr = data[12:16], data[16:20]
    address = yiaddr if yiaddr != _ZERO4 else ciaddr if ciaddr != _ZERO4 else None
    hostname = vendor = None
    msg_type = None
    requested = None
    pos = 240
    n = len(data)
    while pos < n:
        code = data[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= n:
            break
        length = data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        pos += 2 + length
        if code == 53 and length == 1:
            msg_type = value[0]
        elif op == 1 and code == 12:
            hostname = value.rstrip(b"\x00").decode("utf-8", "replace") or None
        elif op == 1 and code == 60:
            vendor = value.rstrip(b"\x00").decode("utf-8", "replace") or None
        elif code == 50 and length == 4:
            requested = value
    # A REQUEST (type 3) asks for an address the client had or was offered; a DISCOVER's wish is not
    # evidence that the client holds it
    if address is None and msg_type == 3 and requested is not None and requested != _ZERO4:
        address = requested
    return DhcpFacts(mac, address, hostname, vendor, msg_type)
