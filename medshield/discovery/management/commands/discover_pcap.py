"""``medshield discover pcap FILE``: the hosts, flows and medical-protocol facts one capture shows.

Exit codes: 0 success (warnings about a damaged capture go to standard error and the partial
result is printed); 1 the file is not a readable capture (the message names the problem).
Nothing is stored: ``medshield discover import`` does that.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.discovery.pcap import Capture, CaptureError, read_capture


class Command(BaseCommand):
    help = "Read a pcap/pcapng capture and print its hosts and flows (DICOM, HL7, DNS, DHCP...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="a pcap or pcapng capture")
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            capture = read_capture(opts["file"])
        except CaptureError as exc:
            raise CommandError(str(exc)) from exc
        for warning in capture.warnings:
            self.stderr.write(f"warning: {warning}")
        if opts["format"] == "json":
            text = json.dumps(capture.as_json(), indent=2, ensure_ascii=False)
            stream = getattr(self.stdout, "_out", sys.stdout)
            stream.write(text + "\n")
            stream.flush()
        else:
            self.stdout.write(_table(capture))


def _table(capture: Capture) -> str:
    def grid(header: list[str], rows: list[list[str]]) -> list[str]:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [
            fmt.format(*map(str, row)) for row in rows
        ]

    hosts = [
        [
            h.ip or "-",
            h.mac or "-",
            ", ".join(h.hostnames) or "-",
            ", ".join(h.protocols) or "-",
            ", ".join(h.dicom_ae_titles) or "-",
            ", ".join(h.hl7_applications + [f"@{f}" for f in h.hl7_facilities]) or "-",
        ]
        for h in capture.hosts
    ]
    flows = [
        [f.src, f.dst, f.dst_port, f.transport, f.protocol, f.packets, f.bytes, f.last_seen]
        for f in capture.flows
    ]
    lines = [f"{len(capture.hosts)} hosts"]
    lines += grid(["ip", "mac", "hostnames", "protocols", "AE titles", "HL7 apps@facility"], hosts)
    lines += ["", f"{len(capture.flows)} flows"]
    lines += grid(
        ["src", "dst", "port", "transport", "protocol", "packets", "bytes", "last_seen"], flows
    )
    return "\n".join(lines)
