"""Store evidence files as observations: nmap XML, Zeek logs and (when the pcap reader is
installed) packet captures all arrive in one shape, ``{"hosts": [...], "flows": [...]}``, and
land in the same tables.

An import is one transaction, and a file already imported (same SHA-256) changes nothing. A file
that breaks off is refused unless ``allow_partial`` is given, in which case what was read is
stored with the reader's warnings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from medshield.core.actor import Actor, current_actor
from medshield.discovery.models import ObservationSource, ObservedFlow, ObservedHost, SourceKind
from medshield.discovery.nmap import NmapError, read_nmap
from medshield.discovery.zeek import ZeekError, read_zeek

_PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


class EvidenceError(ValueError):
    """The file cannot be imported; the message says why, for the user."""


@dataclass
class Evidence:
    kind: str
    detail: str
    data: dict[str, Any]
    complete: bool = True
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportOutcome:
    source: ObservationSource
    created: bool
    warnings: list[str]


def sniff(path: Path) -> str:
    """nmap, zeek or pcap, from the first bytes (and the name for compressed logs)."""
    with open(path, "rb") as stream:
        head = stream.read(512)
    if head[:4] in _PCAP_MAGICS:
        return SourceKind.PCAP
    if head[:2] == b"\x1f\x8b":
        return SourceKind.ZEEK  # rotated Zeek logs are gzip'd
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return SourceKind.NMAP
    if text.startswith((b"#", b"{")):
        return SourceKind.ZEEK
    if path.suffix.lower() in (".pcap", ".pcapng", ".cap"):
        return SourceKind.PCAP
    raise EvidenceError(
        f"{path.name}: not an nmap XML report, a Zeek log or a packet capture (unknown content)"
    )


def read_evidence(path: Path, kind: str = "auto") -> Evidence:
    """Parse one file into the shared shape; raise EvidenceError with a readable reason."""
    if not path.is_file():
        raise EvidenceError(f"{path}: no such file")
    kind = sniff(path) if kind == "auto" else kind
    if kind == SourceKind.NMAP:
        try:
            scan = read_nmap(path)
        except NmapError as exc:
            raise EvidenceError(f"{path.name}: {exc}") from None
        return Evidence(kind, "", scan.as_json(), scan.complete, list(scan.warnings))
    if kind == SourceKind.ZEEK:
        try:
            log = read_zeek(path)
        except ZeekError as exc:
            raise EvidenceError(f"{path.name}: {exc}") from None
        return Evidence(kind, log.kind, log.as_json(), log.complete, list(log.warnings))
    if kind == SourceKind.PCAP:
        return _read_pcap(path)
    raise EvidenceError(f"{path.name}: unknown evidence kind {kind!r}")


def _read_pcap(path: Path) -> Evidence:
    try:
        # Written alongside this module by the pcap reader's author; optional until it lands.
        from medshield.discovery.pcap import read_capture  # type: ignore[import-not-found]
    except ImportError:
        raise EvidenceError(
            f"{path.name}: a packet capture, but this installation has no pcap reader yet "
            "(medshield.discovery.pcap); import Zeek logs or nmap XML instead"
        ) from None
    try:
        capture = read_capture(str(path))
    except Exception as exc:  # noqa: BLE001 - the reader's own errors, reported to the user
        raise EvidenceError(f"{path.name}: {exc}") from None
    warnings = [str(w) for w in getattr(capture, "warnings", [])]
    data = capture.as_json()
    return Evidence(SourceKind.PCAP, "", data, not warnings, warnings)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- values -----------------------------------------------------------------------------------
def _when(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        try:
            return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value))) if value else None
    except ValueError:
        return None


def _mac(value: Any) -> str:
    from medshield.network.models import normalise_mac

    try:
        return normalise_mac(str(value)) if value else ""
    except ValueError:
        return ""


def _strings(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return sorted({str(v).strip() for v in value if str(v).strip()})


_HOST_KEYS = {
    "ip",
    "mac",
    "vendor",
    "hostnames",
    "protocols",
    "services",
    "os",
    "dicom_ae_titles",
    "hl7_applications",
    "hl7_facilities",
    "name_only",
    "first_seen",
    "last_seen",
}


def _host_row(source: ObservationSource, host: dict[str, Any]) -> ObservedHost | None:
    ip, mac = _ip(host.get("ip")), _mac(host.get("mac"))
    if ip is None and not mac:
        return None
    names = host.get("hostnames") or []
    return ObservedHost(
        source=source,
        ip=ip,
        mac=mac,
        vendor=str(host.get("vendor") or "")[:200],
        hostnames=list(dict.fromkeys(str(n) for n in names if n)),
        protocols=_strings(host.get("protocols")),
        services=list(host.get("services") or []),
        os_guesses=list(host.get("os") or []),
        dicom_ae_titles=_strings(host.get("dicom_ae_titles")),
        hl7_applications=_strings(host.get("hl7_applications")),
        hl7_facilities=_strings(host.get("hl7_facilities")),
        extra={k: v for k, v in host.items() if k not in _HOST_KEYS and v not in (None, "", [])},
        name_only=bool(host.get("name_only")),
        first_seen=_when(host.get("first_seen")),
        last_seen=_when(host.get("last_seen") or host.get("first_seen")),
    )


def _flow_row(source: ObservationSource, flow: dict[str, Any]) -> ObservedFlow | None:
    src, dst = _ip(flow.get("src")), _ip(flow.get("dst"))
    if src is None or dst is None:
        return None
    port = flow.get("dst_port")
    return ObservedFlow(
        source=source,
        src=src,
        dst=dst,
        dst_port=int(port) if port not in (None, "") else None,
        transport=str(flow.get("transport") or "").lower()[:10],
        protocol=str(flow.get("protocol") or "")[:50],
        packets=int(flow.get("packets") or 0),
        bytes=int(flow.get("bytes") or 0),
        first_seen=_when(flow.get("first_seen")),
        last_seen=_when(flow.get("last_seen") or flow.get("first_seen")),
    )


def store(
    evidence: Evidence, *, file_name: str, sha256: str, actor: Actor | None = None
) -> ObservationSource:
    """Write one evidence file's observations in one transaction."""
    actor = actor or current_actor()
    with transaction.atomic():
        source = ObservationSource.objects.create(
            file_name=file_name[:300],
            sha256=sha256,
            kind=evidence.kind,
            detail=evidence.detail[:100],
            imported_by_id=actor.user_id,
            imported_by_name=actor.name[:150],
            complete=evidence.complete,
            warnings=evidence.warnings[:200],
        )
        hosts = [h for h in (_host_row(source, x) for x in evidence.data.get("hosts", [])) if h]
        flows = [f for f in (_flow_row(source, x) for x in evidence.data.get("flows", [])) if f]
        ObservedHost.objects.bulk_create(hosts, batch_size=1000)
        ObservedFlow.objects.bulk_create(flows, batch_size=1000)
        moments = [t for row in (*hosts, *flows) for t in (row.first_seen, row.last_seen) if t]
        source.host_count = len(hosts)
        source.flow_count = len(flows)
        source.first_seen = min(moments, default=None)
        source.last_seen = max(moments, default=None)
        source.save()
    return source


def import_file(
    path: str | Path,
    *,
    kind: str = "auto",
    actor: Actor | None = None,
    allow_partial: bool = False,
    file_name: str | None = None,
) -> ImportOutcome:
    """Import one evidence file; the same file twice is stored once."""
    path = Path(path)
    if not path.is_file():
        raise EvidenceError(f"{path}: no such file")
    digest = sha256_of(path)
    known = ObservationSource.objects.filter(sha256=digest).first()
    if known is not None:
        return ImportOutcome(known, False, [])
    evidence = read_evidence(path, kind)
    if not evidence.complete and not allow_partial:
        raise EvidenceError(
            f"{path.name}: refused, the file is incomplete: "
            + "; ".join(evidence.warnings[:3])
            + " (import anyway with --partial to keep what was read)"
        )
    source = store(evidence, file_name=file_name or path.name, sha256=digest, actor=actor)
    return ImportOutcome(source, True, evidence.warnings)
