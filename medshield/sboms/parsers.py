"""From a validated SBOM or VEX document to plain records, one function per format.

Each parser validates first (CycloneDX against its JSON or XML schema with cyclonedx-python-lib's
schema files, SPDX with spdx-tools' validator, OpenVEX against the 0.2.0 schema) and only then
reads the document, through the field's library where one exists. Nothing here touches the
database; :mod:`medshield.sboms.importers` stores what these functions return.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element, tostring

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.license import LicenseExpression
from cyclonedx.model.vulnerability import Vulnerability
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON
from cyclonedx.validation.xml import XmlValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as JsonSchemaError
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT7

from medshield.register.errors import ImportRejected, RecordError
from medshield.sboms.choices import OPENVEX_STATUS
from medshield.sboms.errors import refuse
from medshield.sboms.openvex_schema import SCHEMA as OPENVEX_SCHEMA
from medshield.sboms.readers import CYCLONEDX_NS

#: at most this many schema errors are reported for one file (the first ones say enough)
MAX_ERRORS = 20

#: CycloneDX versions whose schemas cyclonedx-python-lib ships (1.2 and 1.3 occur in the wild)
CYCLONEDX_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")


@dataclass(frozen=True)
class ParsedComponent:
    """One component as the document lists it."""

    name: str
    version: str = ""
    bom_ref: str = ""
    type: str = ""
    group: str = ""
    purl: str = ""
    cpe: str = ""
    supplier: str = ""
    licenses: str = ""
    hashes: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedStatement:
    """One VEX statement: a vulnerability's status in one product (or its subcomponent)."""

    vulnerability_id: str
    status: str
    original_status: str
    product_ref: str = ""
    subcomponent_ref: str = ""
    purl: str = ""
    cpe: str = ""
    aliases: tuple[str, ...] = ()
    justification: str = ""
    impact_statement: str = ""
    response: tuple[str, ...] = ()
    action_statement: str = ""
    affected_versions: tuple[dict[str, str], ...] = ()
    timestamp: dt.datetime | None = None

    def key(self) -> tuple[str, str, str]:
        return (self.vulnerability_id, self.product_ref, self.subcomponent_ref)


@dataclass
class ParsedSbom:
    """An SBOM document's identity, what it describes, its components and any VEX analyses."""

    format: str
    spec_version: str
    document_id: str
    document_version: int = 1
    name: str = ""
    supplier: str = ""
    product_name: str = ""
    product_version: str = ""
    timestamp: dt.datetime | None = None
    components: list[ParsedComponent] = field(default_factory=list)
    statements: list[ParsedStatement] = field(default_factory=list)


@dataclass
class ParsedVex:
    """A VEX document's identity and its statements."""

    format: str
    spec_version: str
    document_id: str
    document_version: int = 1
    author: str = ""
    timestamp: dt.datetime | None = None
    statements: list[ParsedStatement] = field(default_factory=list)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def _json_path(path: Iterable[Any]) -> str:
    """``components[3].hashes[0].alg`` from a jsonschema error path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_rejection(errors: Iterator[JsonSchemaError], kind: str) -> ImportRejected | None:
    found: list[RecordError] = []
    for error in errors:
        reason = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        found.append(RecordError(_json_path(error.absolute_path), "", reason))
        if len(found) >= MAX_ERRORS:
            break
    if not found:
        return None
    found.insert(0, RecordError("", "", _("the document is not valid {kind}").format(kind=kind)))
    return ImportRejected(found)


# --- CycloneDX -------------------------------------------------------------------------------
def _plausible_iri(value: object) -> bool:
    # jsonschema checks "iri-reference" with a full RFC 3987 Earley parser that takes ~30 ms per
    # value: 8 s for one 140 kB SBOM, and a denial of service on a large one. Whitespace and
    # control characters are what real mistakes look like, and this catches them in linear time.
    return not isinstance(value, str) or not any(c.isspace() or ord(c) < 32 for c in value)


def _unique_items(
    validator: Any, unique: bool, instance: Any, schema: dict[str, Any]
) -> Iterator[JsonSchemaError]:
    """``uniqueItems`` in linear time.

    jsonschema compares every pair of objects (its sort-based path cannot order dicts), so the
    CycloneDX schema's unique ``components`` took 14 s for 2,000 components and grows with the
    square. Canonical JSON (sorted keys) gives each item a hashable form instead. It differs
    from the specification only in telling ``1`` from ``1.0``, which no SBOM relies on.
    """
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
        if canonical in seen:
            yield JsonSchemaError(
                _("the list has a duplicate item: {item}").format(item=canonical[:200])
            )
            return
        seen.add(canonical)


#: the validator classes, with the linear uniqueItems
_Draft7 = extend(Draft7Validator, {"uniqueItems": _unique_items})
_Draft202012 = extend(Draft202012Validator, {"uniqueItems": _unique_items})


@functools.cache
def _format_checker() -> FormatChecker:
    slow = {"iri", "iri-reference"}
    checker = FormatChecker(
        formats=[f for f in Draft7Validator.FORMAT_CHECKER.checkers if f not in slow]
    )
    for name in slow:
        checker.checks(name)(_plausible_iri)
    return checker


@functools.cache
def _cyclonedx_json_validator(version: str) -> Any:
    """The schema validator of one CycloneDX version, built once per process.

    Uses the schema files cyclonedx-python-lib ships (its validator cannot take a faster format
    checker, see :func:`_plausible_iri`); the referenced SPDX, JSF and cryptography schemas are
    registered under the URLs the CycloneDX schema names, so nothing is fetched.
    """
    schema_file = BOM_JSON[SchemaVersion.from_version(version)]
    if schema_file is None:  # pragma: no cover - every listed version has a JSON schema
        raise refuse(_("no JSON schema for CycloneDX {version}").format(version=version))
    prefix = "http://cyclonedx.org/schema/"
    resources = []
    for name, path in (
        ("spdx.SNAPSHOT.schema.json", SPDX_JSON),
        ("jsf-0.82.SNAPSHOT.schema.json", JSF),
        ("cryptography-defs.SNAPSHOT.schema.json", CRYPTOGRAPHY_DEFS),
    ):
        with open(path, encoding="utf-8") as fh:
            resources.append((prefix + name, DRAFT7.create_resource(json.load(fh))))
    with open(schema_file, encoding="utf-8") as fh:
        schema = json.load(fh)
    return _Draft7(
        schema, registry=Registry().with_resources(resources), format_checker=_format_checker()
    )


@functools.cache
def _cyclonedx_xml_validator(version: str) -> XmlValidator:
    return XmlValidator(SchemaVersion.from_version(version))


def _check_cyclonedx_version(version: object) -> str:
    if not isinstance(version, str) or not version:
        raise refuse(_("the CycloneDX document has no specVersion"), "specVersion")
    if version not in CYCLONEDX_VERSIONS:
        raise refuse(
            _("CycloneDX {version} is not supported (supported: {supported})").format(
                version=version, supported=", ".join(CYCLONEDX_VERSIONS)
            ),
            "specVersion",
        )
    return version


def parse_cyclonedx_json(document: Any) -> ParsedSbom:
    """Validate a CycloneDX JSON document against its schema and read it."""
    if not isinstance(document, dict):
        raise refuse(_("a CycloneDX document is a JSON object"))
    version = _check_cyclonedx_version(document.get("specVersion"))
    rejection = _schema_rejection(
        _cyclonedx_json_validator(version).iter_errors(document), f"CycloneDX {version}"
    )
    if rejection is not None:
        raise rejection
    try:
        with warnings.catch_warnings():
            # The library warns about fields deprecated in newer CycloneDX versions; a hospital
            # imports the manufacturer's file as it is, so that is noise on every import.
            warnings.simplefilter("ignore")
            bom = Bom.from_json(document)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any library failure on a schema-valid file
        raise refuse(
            _("cyclonedx-python-lib could not read it: {error}").format(error=exc)
        ) from None
    return _from_bom(bom, "cyclonedx-json", version, document.get("serialNumber"))


def parse_cyclonedx_xml(root: Element) -> ParsedSbom:
    """Validate a CycloneDX XML document (already parsed safely) against its XSD and read it."""
    match = CYCLONEDX_NS.match(root.tag)
    if match is None:
        raise refuse(_("the XML root is not a CycloneDX <bom> element"))
    version = _check_cyclonedx_version(match.group(1))
    # The validator re-parses the text with lxml (no network, no entities, and no DTD: the safe
    # parse already refused any). Serialising the checked tree is what it sees.
    text = tostring(root, encoding="unicode")
    errors = _cyclonedx_xml_validator(version).validate_str(text, all_errors=True)
    if errors is not None:
        found = [
            RecordError(
                _("line {line}").format(line=getattr(e.data, "line", "?")),
                "",
                str(getattr(e.data, "message", e)),
            )
            for e, _i in zip(errors, range(MAX_ERRORS), strict=False)
        ]
        if found:
            found.insert(
                0,
                RecordError("", "", _("the document is not valid CycloneDX {v}").format(v=version)),
            )
            raise ImportRejected(found)
    try:
        with warnings.catch_warnings():
            # The library warns about fields deprecated in newer CycloneDX versions; a hospital
            # imports the manufacturer's file as it is, so that is noise on every import.
            warnings.simplefilter("ignore")
            bom = Bom.from_xml(root)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any library failure on a schema-valid file
        raise refuse(
            _("cyclonedx-python-lib could not read it: {error}").format(error=exc)
        ) from None
    return _from_bom(bom, "cyclonedx-xml", version, root.get("serialNumber"))


def _walk(components: Iterable[CdxComponent]) -> Iterator[CdxComponent]:
    stack = list(components)[::-1]
    while stack:
        component = stack.pop()
        yield component
        stack.extend(list(component.components)[::-1])


def _entity_name(entity: Any) -> str:
    return str(getattr(entity, "name", "") or "") if entity is not None else ""


def _component_supplier(c: CdxComponent) -> str:
    for entity in (c.supplier, getattr(c, "manufacturer", None)):
        if _entity_name(entity):
            return _entity_name(entity)
    return str(c.publisher or c.author or "")


def _licenses(c: CdxComponent) -> str:
    names = []
    for lic in c.licenses:
        if isinstance(lic, LicenseExpression):
            names.append(lic.value)
        else:
            names.append(str(lic.id or lic.name or ""))
    return ", ".join(n for n in names if n)


def _ref(c: CdxComponent) -> str:
    return str(c.bom_ref.value or "") if c.bom_ref is not None else ""


def _from_bom(bom: Bom, fmt: str, version: str, serial: object) -> ParsedSbom:
    """Plain records from a deserialised BOM.

    ``serial`` is the serialNumber as written: cyclonedx-python-lib invents a random one for a
    document without, which would make every import of such a file look like a new document.
    """
    meta = bom.metadata
    product = meta.component
    edges = {
        str(d.ref.value): tuple(str(x.ref.value) for x in d.dependencies)
        for d in bom.dependencies
        if d.ref.value
    }
    roots = list(bom.components)
    if product is not None:
        roots += list(product.components)
    components = [
        ParsedComponent(
            name=c.name,
            version=c.version or "",
            bom_ref=_ref(c),
            type=c.type.value if c.type is not None else "",
            group=c.group or "",
            purl=c.purl.to_string() if c.purl is not None else "",
            cpe=c.cpe or "",
            supplier=_component_supplier(c),
            licenses=_licenses(c),
            hashes={h.alg.value: h.content for h in c.hashes},
            depends_on=edges.get(_ref(c), ()),
        )
        for c in _walk(roots)
    ]
    supplier = next(
        (
            n
            for n in (
                _entity_name(getattr(meta, "manufacturer", None)),
                _entity_name(getattr(meta, "manufacture", None)),
                _entity_name(meta.supplier),
                _component_supplier(product) if product is not None else "",
            )
            if n
        ),
        "",
    )
    document_id = serial if isinstance(serial, str) else ""
    parsed = ParsedSbom(
        format=fmt,
        spec_version=version,
        document_id=document_id,
        document_version=int(bom.version or 1),
        name=product.name if product is not None else "",
        supplier=supplier,
        product_name=product.name if product is not None else "",
        product_version=(product.version or "") if product is not None else "",
        timestamp=_aware(meta.timestamp),
        components=components,
    )
    by_ref = {c.bom_ref: c for c in components if c.bom_ref}
    if product is not None and _ref(product):
        by_ref[_ref(product)] = ParsedComponent(
            name=product.name,
            purl=product.purl.to_string() if product.purl is not None else "",
            cpe=product.cpe or "",
        )
    default_ref = _ref(product) if product is not None else ""
    parsed.statements = _dedupe(
        s
        for v in bom.vulnerabilities
        for s in _statements(v, by_ref, default_ref, parsed.timestamp)
    )
    return parsed


def _statements(
    v: Vulnerability,
    by_ref: dict[str, ParsedComponent],
    default_ref: str,
    doc_time: dt.datetime | None,
) -> Iterator[ParsedStatement]:
    analysis = v.analysis
    if analysis is None or analysis.state is None:
        return  # a vulnerability listed without analysis states nothing (not VEX)
    vuln_id = str(v.id or (v.bom_ref.value if v.bom_ref is not None else "") or "")
    aliases = tuple(sorted(str(r.id) for r in v.references if r.id and r.id != vuln_id))
    when = (
        _aware(analysis.last_updated or analysis.first_issued or v.updated or v.published)
        or doc_time
    )
    targets = list(v.affects) or [None]
    for target in targets:
        ref = str(target.ref) if target is not None else default_ref
        known = by_ref.get(ref)
        purl = known.purl if known else (ref if ref.startswith("pkg:") else "")
        cpe = known.cpe if known else (ref if ref.startswith("cpe:") else "")
        versions = tuple(
            {
                k: str(val)
                for k, val in (
                    ("version", r.version),
                    ("range", r.range),
                    ("status", r.status.value if r.status is not None else None),
                )
                if val
            }
            for r in (target.versions if target is not None else ())
        )
        yield ParsedStatement(
            vulnerability_id=vuln_id,
            status=analysis.state.value,
            original_status=analysis.state.value,
            product_ref=ref,
            purl=purl,
            cpe=cpe,
            aliases=aliases,
            justification=analysis.justification.value if analysis.justification else "",
            impact_statement=analysis.detail or "",
            response=tuple(sorted(r.value for r in analysis.responses)),
            action_statement=v.recommendation or v.workaround or "",
            affected_versions=versions,
            timestamp=when,
        )


def _dedupe(statements: Iterable[ParsedStatement]) -> list[ParsedStatement]:
    """One statement per subject: a later one in the document overrides an earlier one."""
    kept: dict[tuple[str, str, str], ParsedStatement] = {}
    for s in statements:
        earlier = kept.get(s.key())
        if earlier is None or (s.timestamp or dt.datetime.min.replace(tzinfo=dt.UTC)) >= (
            earlier.timestamp or dt.datetime.min.replace(tzinfo=dt.UTC)
        ):
            kept[s.key()] = s
    return list(kept.values())


def cyclonedx_vex(parsed: ParsedSbom) -> ParsedVex:
    """The VEX document formed by a CycloneDX document's analysed vulnerabilities."""
    return ParsedVex(
        format="cyclonedx-vex",
        spec_version=parsed.spec_version,
        document_id=parsed.document_id,
        document_version=parsed.document_version,
        author=parsed.supplier,
        timestamp=parsed.timestamp,
        statements=parsed.statements,
    )


def parse_bom_link(ref: str) -> tuple[str, int, str] | None:
    """(serial number, version, bom-ref) of a CycloneDX BOM-Link ``urn:cdx:<uuid>/<v>#<ref>``."""
    if not ref.startswith("urn:cdx:") or "#" not in ref:
        return None
    head, _hash, bom_ref = ref[len("urn:cdx:") :].partition("#")
    serial, _slash, version = head.partition("/")
    if not serial or not version.isdigit():
        return None
    return f"urn:uuid:{serial}", int(version), unquote(bom_ref)


# --- SPDX 2.x ---------------------------------------------------------------------------------
def parse_spdx(payload: Any, fmt: str) -> ParsedSbom:
    """Parse and validate an SPDX 2.2/2.3 document (a JSON object, or tag-value text)."""
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        if fmt == "spdx-json":
            from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import (
                JsonLikeDictParser,
            )

            version = payload.get("spdxVersion") if isinstance(payload, dict) else None
            if version not in SPDX_VERSIONS:
                raise refuse(
                    _("{version} is not supported (supported: SPDX 2.2 and 2.3)").format(
                        version=version
                    ),
                    "spdxVersion",
                )
            document = JsonLikeDictParser().parse(payload)
        else:
            from ply import yacc
            from spdx_tools.common.spdx_licensing import spdx_licensing
            from spdx_tools.spdx.parser.tagvalue import parser as tagvalue
            from spdx_tools.spdx.parser.tagvalue.parser import Parser

            # spdx-tools builds a new license index (~0.3 s) for every license line of a
            # tag-value file, so a file of many license lines took minutes (found by fuzzing):
            # share the one index its JSON parser already uses.
            tagvalue.get_spdx_licensing = lambda: spdx_licensing  # type: ignore[attr-defined]
            # ply would rebuild and write its tables, and print about it, on every parser.
            document = Parser(write_tables=False, debug=False, errorlog=yacc.NullLogger()).parse(
                payload
            )
    except SPDXParsingError as exc:
        messages = [str(m) for m in exc.get_messages()][:MAX_ERRORS]
        raise ImportRejected(
            [RecordError("", "", _("the document is not valid SPDX"))]
            + [RecordError("", "", m[:300]) for m in messages]
        ) from None
    except ImportRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - spdx-tools raises assorted errors on bad input
        raise refuse(_("spdx-tools could not read it: {error}").format(error=exc)) from None
    info = document.creation_info
    if info.spdx_version not in SPDX_VERSIONS:
        raise refuse(
            _("{version} is not supported (supported: SPDX 2.2 and 2.3)").format(
                version=info.spdx_version
            ),
            "SPDXVersion",
        )
    messages = validate_full_spdx_document(document)
    if messages:
        raise ImportRejected(
            [RecordError("", "", _("the document is not valid {v}").format(v=info.spdx_version))]
            + [
                RecordError(
                    str(getattr(m.context, "spdx_id", "") or ""), "", m.validation_message[:300]
                )
                for m in messages[:MAX_ERRORS]
            ]
        )
    return _from_spdx(document, fmt)


def _spdx_text(value: Any) -> str:
    """An SPDX value as text; NOASSERTION and NONE read as nothing."""
    from spdx_tools.spdx.model import SpdxNoAssertion, SpdxNone

    if value is None or isinstance(value, SpdxNoAssertion | SpdxNone):
        return ""
    return str(getattr(value, "name", value))


def _from_spdx(document: Any, fmt: str) -> ParsedSbom:
    from spdx_tools.spdx.model import ActorType, RelationshipType

    info = document.creation_info
    depends: dict[str, list[str]] = {}
    described: list[str] = []
    for rel in document.relationships:
        a, kind, b = rel.spdx_element_id, rel.relationship_type, rel.related_spdx_element_id
        if not isinstance(b, str):
            continue  # NONE / NOASSERTION targets name no element
        if kind == RelationshipType.DESCRIBES and a == info.spdx_id:
            described.append(b)
        elif kind == RelationshipType.DESCRIBED_BY and b == info.spdx_id:
            described.append(a)
        elif kind == RelationshipType.DEPENDS_ON:
            depends.setdefault(a, []).append(b)
        elif kind.name.endswith("DEPENDENCY_OF"):
            depends.setdefault(b, []).append(a)
    components = []
    for p in document.packages:
        refs = {r.reference_type: r.locator for r in p.external_references}
        licences = _spdx_text(p.license_concluded) or _spdx_text(p.license_declared)
        purpose = p.primary_package_purpose
        components.append(
            ParsedComponent(
                name=p.name,
                version=p.version or "",
                bom_ref=p.spdx_id,
                type=purpose.name.lower().replace("_", "-") if purpose is not None else "",
                purl=refs.get("purl", ""),
                cpe=refs.get("cpe23Type") or refs.get("cpe22Type") or "",
                supplier=_spdx_text(p.supplier) or _spdx_text(p.originator),
                licenses=licences,
                hashes={c.algorithm.name.replace("_", "-"): c.value for c in p.checksums},
                depends_on=tuple(dict.fromkeys(depends.get(p.spdx_id, []))),
            )
        )
    by_id = {c.bom_ref: c for c in components}
    product = next((by_id[d] for d in described if d in by_id), None)
    organisation = next(
        (a.name for a in info.creators if a.actor_type == ActorType.ORGANIZATION), ""
    )
    return ParsedSbom(
        format=fmt,
        spec_version=info.spdx_version.removeprefix("SPDX-"),
        document_id=info.document_namespace,
        name=info.name,
        supplier=(product.supplier if product is not None else "") or organisation,
        product_name=product.name if product is not None else "",
        product_version=product.version if product is not None else "",
        timestamp=_aware(info.created),
        components=components,
    )


# --- OpenVEX ----------------------------------------------------------------------------------
def _time(value: Any) -> dt.datetime | None:
    """An OpenVEX timestamp (RFC 3339, often with nanoseconds, which Python's parser drops)."""
    if not isinstance(value, str):
        return None
    try:
        return _aware(parse_datetime(value))
    except ValueError:
        return None


def _upgrade_openvex_001(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenVEX 0.0.1 document in 0.2.0 shape (as vexctl reads them).

    0.0.1 wrote ``vulnerability`` and each product as plain strings and had a ``format`` key;
    0.2.0 makes them objects. Nothing else changed that this importer reads.
    """
    upgraded = {k: v for k, v in document.items() if k != "format"}
    statements = []
    for s in document.get("statements") or []:
        if not isinstance(s, dict):
            statements.append(s)
            continue
        s = dict(s)
        if isinstance(s.get("vulnerability"), str):
            s["vulnerability"] = {"name": s["vulnerability"]}
        if isinstance(s.get("products"), list):
            s["products"] = [{"@id": p} if isinstance(p, str) else p for p in s["products"]]
        if s.get("status_notes") == "":
            del s["status_notes"]
        statements.append(s)
    upgraded["statements"] = statements
    return upgraded


@functools.cache
def _openvex_validator() -> Any:
    return _Draft202012(OPENVEX_SCHEMA, format_checker=_format_checker())


def parse_openvex(document: Any) -> ParsedVex:
    """Validate an OpenVEX document (0.2.0, or 0.0.1 upgraded) and read its statements.

    A missing document ``timestamp`` defaults to the latest statement's and a missing
    ``version`` to 1: vexctl writes such files (research/formats.md 5.3) and reads them back.
    """
    if not isinstance(document, dict):
        raise refuse(_("an OpenVEX document is a JSON object"))
    context = str(document.get("@context", ""))
    spec = context.rsplit("/v", 1)[1] if "/ns/v" in context else "0.0.1"
    if spec == "0.0.1":
        document = _upgrade_openvex_001(document)
    else:
        document = dict(document)
    statements = document.get("statements")
    if "timestamp" not in document and isinstance(statements, list):
        stamps = [
            s["timestamp"]
            for s in statements
            if isinstance(s, dict) and _time(s.get("timestamp")) is not None
        ]
        if stamps:
            document["timestamp"] = max(stamps, key=lambda s: _time(s) or dt.datetime.min)
    document.setdefault("version", 1)
    rejection = _schema_rejection(_openvex_validator().iter_errors(document), "OpenVEX")
    if rejection is not None:
        raise rejection
    doc_time = _time(document.get("last_updated")) or _time(document.get("timestamp"))
    parsed = ParsedVex(
        format="openvex",
        spec_version=spec,
        document_id=str(document["@id"]),
        document_version=int(document.get("version") or 1),
        author=str(document.get("author", "")),
        timestamp=_time(document.get("timestamp")),
    )
    found = []
    for s in document["statements"]:
        vuln = s["vulnerability"]
        vuln_id = str(vuln.get("name") or vuln.get("@id") or "")
        aliases = tuple(str(a) for a in vuln.get("aliases") or [])
        common = {
            "vulnerability_id": vuln_id,
            "status": OPENVEX_STATUS[s["status"]].value,
            "original_status": s["status"],
            "aliases": aliases,
            "justification": s.get("justification", ""),
            "impact_statement": s.get("impact_statement") or s.get("status_notes") or "",
            "action_statement": s.get("action_statement", ""),
            "timestamp": _time(s.get("last_updated")) or _time(s.get("timestamp")) or doc_time,
        }
        for product in s.get("products") or [{}]:
            subjects = [(product, None)] + [
                (product, sub) for sub in product.get("subcomponents") or []
            ]
            # A statement about subcomponents applies to them, not to the whole product.
            if product.get("subcomponents"):
                subjects = subjects[1:]
            for prod, sub in subjects:
                target = sub if sub is not None else prod
                ids = target.get("identifiers") or {}
                ref = str(target.get("@id", "") or "")
                found.append(
                    ParsedStatement(
                        product_ref=_product_ref(prod),
                        subcomponent_ref=_product_ref(sub) if sub is not None else "",
                        purl=ids.get("purl") or (ref if ref.startswith("pkg:") else ""),
                        cpe=ids.get("cpe23")
                        or ids.get("cpe22")
                        or (ref if ref.startswith("cpe:") else ""),
                        **common,
                    )
                )
    parsed.statements = _dedupe(found)
    return parsed


def _product_ref(product: dict[str, Any]) -> str:
    ids = product.get("identifiers") or {}
    return str(product.get("@id") or ids.get("purl") or ids.get("cpe23") or ids.get("cpe22") or "")
