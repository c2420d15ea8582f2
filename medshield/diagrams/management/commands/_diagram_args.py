"""Arguments shared by `medshield diagram` and `medshield diagram diff`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from medshield.diagrams import service


def add_common(parser: CommandParser) -> None:
    parser.add_argument("kind", choices=["network", "physical", "server", "system"])
    parser.add_argument("-o", "--output", help="file to write (stdout when omitted, SVG only)")
    parser.add_argument(
        "--redact",
        action="store_true",
        help="hide IP and MAC addresses, serial numbers and hostnames (for sharing with a vendor)",
    )
    group = parser.add_argument_group("filters")
    group.add_argument("--site", default="", help="site code")
    group.add_argument("--building", default="", help="building code")
    group.add_argument("--floor", default="", help="floor name, e.g. 3F")
    group.add_argument("--zone", default="", help="zone name")
    group.add_argument("--subnet", default="", help="subnet prefix, e.g. 10.1.10.0/24")
    group.add_argument("--department", default="", help="clinical department")
    view = parser.add_mutually_exclusive_group()
    view.add_argument(
        "--expanded", action="store_true", help="one node per asset even on a large register"
    )
    view.add_argument(
        "--collapsed", action="store_true", help="endpoints as per-subnet counts even when small"
    )


def request(opts: dict[str, Any], at: str | None = None) -> service.Request:
    try:
        filters = service.resolve_filters(
            site=opts["site"],
            building=opts["building"],
            floor=opts["floor"],
            zone=opts["zone"],
            subnet=opts["subnet"],
            department=opts["department"],
        )
        when = service.parse_when(at) if at else None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    collapse = True if opts["collapsed"] else False if opts["expanded"] else None
    return service.Request(
        kind=opts["kind"], at=when, filters=filters, redact=opts["redact"], collapse=collapse
    )


def write(stdout: Any, data: bytes, output: str | None, fmt: str) -> None:
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    elif fmt in {"svg", "dot"}:
        stdout.write(data.decode("utf-8"), ending="")
    else:
        raise CommandError(f"a {fmt.upper()} diagram needs -o FILE")
