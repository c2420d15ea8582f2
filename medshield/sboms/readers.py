"""Reading untrusted SBOM and VEX files safely, and telling their formats apart by content.

Every file is checked before any library sees it: its size (``MEDSHIELD_SBOM_MAX_BYTES``,
64 MiB by default), its encoding (UTF-8), its syntax, and how deeply it nests. XML is parsed
by defusedxml with DTDs forbidden outright, so no entity can be declared (the "billion laughs"
bomb) and nothing is fetched from the network; lxml, used later by cyclonedx-python-lib's
schema validator, then only ever sees a document without a DTD.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings
from django.utils.translation import gettext as _

from medshield.sboms.errors import refuse

#: default largest file accepted; the biggest real SBOMs (container images) are a few MB
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: deepest nesting accepted in JSON and XML; real CycloneDX nests components a few levels deep
MAX_DEPTH = 64

CYCLONEDX_NS = re.compile(r"^\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom$")
_TAG_VALUE = re.compile(r"^\s*SPDXVersion\s*:\s*SPDX-", re.MULTILINE)

#: the values :func:`detect` returns
KINDS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv", "openvex", "cyclonedx-vex")


@dataclass(frozen=True)
class Loaded:
    """A file read once: its kind, and the parsed JSON, XML root or text the parsers take.

    ``kind`` is one of :data:`KINDS`, ``"spdx3"`` (recognised, not supported) or None.
    ``syntax`` says which of ``json``/``xml``/``text`` the payload is.
    """

    kind: str | None
    syntax: str
    payload: Any


def max_bytes() -> int:
    return int(getattr(settings, "MEDSHIELD_SBOM_MAX_BYTES", DEFAULT_MAX_BYTES))


def check_size(data: bytes) -> None:
    limit = max_bytes()
    if len(data) > limit:
        raise refuse(
            _("the file is {size:,} bytes, over the limit of {limit:,} bytes").format(
                size=len(data), limit=limit
            )
        )
    if not data.strip():
        raise refuse(_("the file is empty"))


def decode(data: bytes) -> str:
    """The file as text; UTF-8 (with or without a byte-order mark) is the only encoding accepted."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(
            _("the file is not UTF-8 text (invalid byte at offset {offset})").format(
                offset=exc.start
            )
        ) from None


def load_json(data: bytes) -> Any:
    """Parse JSON, refusing syntax errors (truncation included) and excessive nesting."""
    check_size(data)
    text = decode(data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(
            _("not valid JSON ({reason}); is the file truncated?").format(reason=exc.msg),
            _("line {line}, column {column}").format(line=exc.lineno, column=exc.colno),
        ) from None
    except RecursionError:
        # The C decoder gives up on very deep nesting; say why rather than crash.
        raise refuse(
            _("the JSON nests deeper than {depth} levels").format(depth=MAX_DEPTH)
        ) from None
    if _json_depth(value) > MAX_DEPTH:
        raise refuse(_("the JSON nests deeper than {depth} levels").format(depth=MAX_DEPTH))
    return value


def _json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, walked iteratively (no recursion to exhaust)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in item)
    return deepest


def load_xml(data: bytes) -> Element:
    """Parse XML with defusedxml: no DTD, no entities, no external references, bounded depth."""
    check_size(data)
    try:
        root = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden):
        raise refuse(
            _(
                "the XML declares a DTD or entities, which SBOMs never need and entity-expansion "
                "attacks rely on; refused"
            )
        ) from None
    except DefusedXmlException as exc:
        raise refuse(_("unsafe XML refused: {reason}").format(reason=exc)) from None
    except LookupError as exc:  # an encoding declaration Python does not know (found by fuzzing)
        raise refuse(
            _("the XML declares an encoding that is not known: {reason}").format(reason=exc)
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise refuse(
            _("not well-formed XML ({reason}); is the file truncated?").format(
                reason=str(exc).split(":")[0]
            ),
            _("line {line}, column {column}").format(line=line, column=column),
        ) from None
    deepest = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise refuse(_("the XML nests deeper than {depth} levels").format(depth=MAX_DEPTH))
        stack.extend((child, depth + 1) for child in element)
    return root


def load(data: bytes) -> Loaded:
    """Read ``data`` once and say what it is. Refuses unreadable or hostile files."""
    check_size(data)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        root = load_xml(data)
        return Loaded(_xml_kind(root), "xml", root)
    if head.startswith((b"{", b"[")):
        value = load_json(data)
        return Loaded(_json_kind(value), "json", value)
    text = decode(data)
    if _TAG_VALUE.search(text[:65536]):
        return Loaded("spdx-tv", "text", text)
    return Loaded(None, "text", text)


def detect(data: bytes) -> str | None:
    """The format of an SBOM or VEX file, from its content, or None when it is none of them.

    Returns ``"cyclonedx-json"``, ``"cyclonedx-xml"``, ``"spdx-json"``, ``"spdx-tv"``,
    ``"openvex"`` or ``"cyclonedx-vex"`` (a CycloneDX document, JSON or XML, with analysed
    vulnerabilities and no components: a VEX rather than an SBOM). A CycloneDX SBOM that also
    carries analyses is ``cyclonedx-json``/``-xml``; :func:`~.importers.import_sbom` stores both.
    Unreadable and hostile files are None too (importing them says why).
    """
    from medshield.register.errors import ImportRejected

    try:
        kind = load(data).kind
    except ImportRejected:
        return None
    return kind if kind in KINDS else None


def _json_kind(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    if "bomFormat" in value:
        # Even a wrong bomFormat is treated as CycloneDX, so that the schema names the mistake.
        vulns = value.get("vulnerabilities")
        analysed = isinstance(vulns, list) and any(
            isinstance(v, dict) and v.get("analysis") for v in vulns
        )
        return "cyclonedx-vex" if analysed and not value.get("components") else "cyclonedx-json"
    if isinstance(value.get("spdxVersion"), str):
        return "spdx-json"
    context = value.get("@context")
    if isinstance(context, str) and context.startswith("https://openvex.dev/ns"):
        return "openvex"
    contexts = context if isinstance(context, list) else [context]
    if any(isinstance(c, str) and "spdx.org/rdf/3" in c for c in contexts):
        return "spdx3"
    return None


def _xml_kind(root: Element) -> str | None:
    if CYCLONEDX_NS.match(root.tag) is None:
        return None
    ns = root.tag[: root.tag.index("}") + 1]
    components = root.find(f"{ns}components")
    has_components = components is not None and len(components) > 0
    analysed = root.find(f"{ns}vulnerabilities/{ns}vulnerability/{ns}analysis") is not None
    return "cyclonedx-vex" if analysed and not has_components else "cyclonedx-xml"
