"""Import SBOMs and VEX documents: all or nothing, idempotent, refused with a reason when bad.

The public functions take the file's bytes, so the web upload, ``medshield sbom import`` and
``medshield feeds import`` all share them:

* :func:`detect` says what a file is;
* :func:`import_sbom` stores a CycloneDX (JSON/XML) or SPDX 2.x (JSON/tag-value) SBOM and
  attaches it to assets or to a manufacturer/model/version;
* :func:`import_vex` stores the statements of an OpenVEX or CycloneDX VEX document.

Each reads and validates the whole file before writing anything, then writes in one
transaction. A file whose identity (serial number, namespace or ``@id``) and SHA-256 are both
already stored changes nothing; a newer version of a stored document replaces its components
(SBOM) or updates its statements in place (VEX, so status changes appear in the history);
an older version is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from medshield.assets.models import Asset
from medshield.core.actor import Actor, acting_as
from medshield.core.models import ChangeAction, ObjectChange, change_record
from medshield.register.errors import ImportRejected, RecordError
from medshield.sboms import parsers
from medshield.sboms.errors import refuse
from medshield.sboms.models import Component, Sbom, VexDocument, VexStatement
from medshield.sboms.readers import Loaded, detect, load

__all__ = [
    "ImportRejected",
    "SbomImportResult",
    "VexImportResult",
    "detect",
    "import_sbom",
    "import_vex",
]

#: rows per INSERT
BATCH = 1000

SBOM_KINDS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv")


@dataclass(frozen=True)
class VexImportResult:
    """What importing one VEX document did: the document, and statement counts by action."""

    document: VexDocument
    action: str  # "created", "updated" or "unchanged"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return _(
            "VEX {id}: {action}; statements {created} created, {updated} updated, "
            "{unchanged} unchanged, {deleted} deleted"
        ).format(
            id=self.document.document_id,
            action=self.action,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            deleted=self.deleted,
        )


@dataclass(frozen=True)
class SbomImportResult:
    """What importing one SBOM did (``action``: created, updated or unchanged)."""

    sbom: Sbom
    action: str
    components: int
    attachment_changed: bool = False
    vex: VexImportResult | None = None

    def __str__(self) -> str:
        text = _("SBOM {sbom} ({format} {version}): {action}, {count} components").format(
            sbom=self.sbom,
            format=self.sbom.format,
            version=self.sbom.spec_version,
            action=self.action,
            count=self.components,
        )
        if self.attachment_changed:
            text += _("; attachment changed")
        if self.vex is not None:
            text += "\n" + str(self.vex)
        return text


def _actor(actor: Actor | None) -> contextlib.AbstractContextManager[Any]:
    return acting_as(actor) if actor is not None else contextlib.nullcontext()


def _unsupported(loaded: Loaded, wanted: str) -> ImportRejected:
    if loaded.kind == "spdx3":
        return refuse(_("SPDX 3 documents are not supported yet; ask for SPDX 2.3 or CycloneDX"))
    if loaded.kind is None:
        return refuse(
            _("not a recognised {wanted} document (expected {formats})").format(
                wanted=wanted,
                formats=(
                    "CycloneDX JSON/XML, SPDX 2.3 JSON/tag-value"
                    if wanted == "SBOM"
                    else "OpenVEX, CycloneDX VEX"
                ),
            )
        )
    if wanted == "SBOM":
        return refuse(
            _(
                "this is a VEX document ({kind}) with no components; import it with "
                "`medshield vex import`"
            ).format(kind=loaded.kind)
        )
    return refuse(
        _("this is an SBOM ({kind}); import it with `medshield sbom import`").format(
            kind=loaded.kind
        )
    )


def _parse_sbom(loaded: Loaded) -> parsers.ParsedSbom:
    if loaded.kind == "cyclonedx-json":
        return parsers.parse_cyclonedx_json(loaded.payload)
    if loaded.kind == "cyclonedx-xml":
        return parsers.parse_cyclonedx_xml(loaded.payload)
    if loaded.kind in ("spdx-json", "spdx-tv"):
        return parsers.parse_spdx(loaded.payload, loaded.kind)
    raise _unsupported(loaded, "SBOM")


# --- SBOM -------------------------------------------------------------------------------------
def import_sbom(
    data: bytes,
    *,
    filename: str = "",
    asset_tags: Sequence[str] = (),
    product: tuple[str, str, str] | None = None,
    actor: Actor | None = None,
) -> SbomImportResult:
    """Import one SBOM file and attach it to ``asset_tags`` or to ``product``.

    ``product`` is (manufacturer, model, software version): the SBOM then applies to every asset
    with those values (compared ignoring case), now and later. With neither, a new SBOM is
    stored unattached and a stored one keeps its attachment. A CycloneDX SBOM's analysed
    vulnerabilities are stored as its VEX document too.

    Raises :class:`~medshield.register.errors.ImportRejected`, with nothing stored, when the file
    is not a supported SBOM, is invalid, hostile or older than the stored version, or names an
    unknown asset.
    """
    tags = [t.strip() for t in asset_tags if t.strip()]
    if tags and product is not None:
        raise refuse(_("attach an SBOM to assets or to a product, not both"))
    attach_product: tuple[str, str, str] | None = None
    if product is not None:
        manufacturer, model, version = (str(p).strip() for p in product)
        if not manufacturer or not model:
            raise refuse(_("a product attachment needs a manufacturer and a model"))
        attach_product = (manufacturer, model, version)
    loaded = load(data)
    if loaded.kind not in SBOM_KINDS:
        raise _unsupported(loaded, "SBOM")
    parsed = _parse_sbom(loaded)
    sha = hashlib.sha256(data).hexdigest()
    if not parsed.document_id:
        # CycloneDX makes serialNumber optional; the content is then the only identity.
        parsed.document_id = f"sha256:{sha}"
    assets = _assets(tags)
    with _actor(actor), transaction.atomic():
        sbom, action = _store_sbom(parsed, sha, filename)
        changed = _attach(sbom, assets if tags else None, attach_product)
        vex = None
        if parsed.statements:
            vex = _store_vex(parsers.cyclonedx_vex(parsed), sha, filename, sbom=sbom)
    return SbomImportResult(
        sbom=sbom,
        action=action,
        components=sbom.component_count,
        attachment_changed=changed,
        vex=vex,
    )


def _assets(tags: list[str]) -> list[Asset]:
    found = {a.asset_tag: a for a in Asset.objects.filter(asset_tag__in=tags)}
    missing = [t for t in dict.fromkeys(tags) if t not in found]
    if missing:
        raise ImportRejected(
            [RecordError("", "", _("no asset with tag {tag}").format(tag=t)) for t in missing]
        )
    return [found[t] for t in dict.fromkeys(tags)]


def _store_sbom(parsed: parsers.ParsedSbom, sha: str, filename: str) -> tuple[Sbom, str]:
    sbom = Sbom.objects.select_for_update().filter(document_id=parsed.document_id).first()
    if sbom is not None:
        if parsed.document_version < sbom.document_version:
            raise refuse(
                _(
                    "version {new} of {id} is older than the stored version {old}; nothing changed"
                ).format(
                    new=parsed.document_version, id=sbom.document_id, old=sbom.document_version
                )
            )
        if sbom.sha256 == sha:
            return sbom, "unchanged"
    action = "created" if sbom is None else "updated"
    if sbom is None:
        sbom = Sbom(document_id=parsed.document_id)
    sbom.format = parsed.format
    sbom.spec_version = parsed.spec_version
    sbom.document_version = parsed.document_version
    sbom.name = parsed.name[:300]
    sbom.supplier = parsed.supplier[:300]
    sbom.product_name = parsed.product_name[:300]
    sbom.product_version = parsed.product_version[:200]
    sbom.timestamp = parsed.timestamp
    sbom.sha256 = sha
    sbom.filename = filename[-300:]
    sbom.component_count = len(parsed.components)
    sbom.save()
    if action == "updated":
        # A newer version replaces the component list as a whole.
        Component.objects.filter(sbom=sbom).delete()
    Component.objects.bulk_create(_components(sbom, parsed.components), batch_size=BATCH)
    return sbom, action


def _components(sbom: Sbom, components: Iterable[parsers.ParsedComponent]) -> Iterator[Component]:
    for c in components:
        yield Component(
            sbom=sbom,
            bom_ref=c.bom_ref[:1000],
            type=c.type[:40],
            group=c.group[:300],
            name=c.name[:500],
            version=c.version[:200],
            purl=c.purl[:2000],
            cpe=c.cpe[:1000],
            supplier=c.supplier[:300],
            licenses=c.licenses,
            hashes=c.hashes,
            depends_on=list(c.depends_on),
        )


def _attach(sbom: Sbom, assets: list[Asset] | None, product: tuple[str, str, str] | None) -> bool:
    """Set the SBOM's attachment when one was given; record a change when it differs."""
    if assets is None and product is None:
        return False
    before_tags = sorted(sbom.assets.values_list("asset_tag", flat=True))
    before_product = [sbom.manufacturer, sbom.model, sbom.software_version]
    after_tags = sorted(a.asset_tag for a in assets) if assets is not None else []
    after_product = list(product) if product is not None else ["", "", ""]
    if before_tags == after_tags and before_product == after_product:
        return False
    sbom.manufacturer, sbom.model, sbom.software_version = after_product
    sbom.save()  # records the product fields' change
    if before_tags != after_tags:
        sbom.assets.set(assets or [])
        # Many-to-many links are not fields ChangeLoggedModel sees; record them the same way.
        change_record(sbom, ChangeAction.UPDATE, {"assets": [before_tags, after_tags]}).save()
    return True


# --- VEX --------------------------------------------------------------------------------------
def import_vex(data: bytes, *, filename: str = "", actor: Actor | None = None) -> VexImportResult:
    """Import the statements of one OpenVEX or CycloneDX VEX document.

    A CycloneDX document is read for its analysed vulnerabilities only (its components, if any,
    are not stored: use :func:`import_sbom` for those). Statement statuses are normalised to
    CycloneDX's ImpactAnalysisState; the original status word is kept.

    Raises :class:`~medshield.register.errors.ImportRejected`, with nothing stored, when the file
    is not a supported VEX document, is invalid, hostile or older than the stored version, or
    states nothing.
    """
    loaded = load(data)
    if loaded.kind == "openvex":
        parsed = parsers.parse_openvex(loaded.payload)
    elif loaded.kind in ("cyclonedx-vex", "cyclonedx-json", "cyclonedx-xml"):
        if loaded.syntax == "json":
            bom = parsers.parse_cyclonedx_json(loaded.payload)
        else:
            bom = parsers.parse_cyclonedx_xml(loaded.payload)
        if not bom.statements:
            raise refuse(
                _(
                    "the CycloneDX document has no vulnerability with an analysis, so it is not "
                    "a VEX; an SBOM is imported with `medshield sbom import`"
                )
            )
        parsed = parsers.cyclonedx_vex(bom)
    else:
        raise _unsupported(loaded, "VEX")
    sha = hashlib.sha256(data).hexdigest()
    if not parsed.document_id:
        parsed.document_id = f"sha256:{sha}"
    with _actor(actor), transaction.atomic():
        return _store_vex(parsed, sha, filename)


def _store_vex(
    parsed: parsers.ParsedVex, sha: str, filename: str, *, sbom: Sbom | None = None
) -> VexImportResult:
    document = (
        VexDocument.objects.select_for_update().filter(document_id=parsed.document_id).first()
    )
    if document is not None:
        if parsed.document_version < document.document_version:
            raise refuse(
                _(
                    "version {new} of {id} is older than the stored version {old}; nothing changed"
                ).format(
                    new=parsed.document_version,
                    id=document.document_id,
                    old=document.document_version,
                )
            )
        if document.sha256 == sha and (sbom is None or document.sbom_id == sbom.pk):
            return VexImportResult(document, "unchanged", unchanged=document.statements.count())
    action = "created" if document is None else "updated"
    if document is None:
        document = VexDocument(document_id=parsed.document_id)
    document.format = parsed.format
    document.spec_version = parsed.spec_version
    document.document_version = parsed.document_version
    document.author = parsed.author[:300]
    document.timestamp = parsed.timestamp
    document.sha256 = sha
    document.filename = filename[-300:]
    if sbom is not None:
        document.sbom = sbom
    document.save()

    links = _resolve_bom_links(parsed.statements)
    existing = {s.key(): s for s in document.statements.all()} if action == "updated" else {}
    created: list[VexStatement] = []
    counts = {"updated": 0, "unchanged": 0}
    for p in parsed.statements:
        purl, cpe = p.purl, p.cpe
        if not purl and not cpe and p.product_ref in links:
            purl, cpe = links[p.product_ref]
        values: dict[str, Any] = {
            "aliases": list(p.aliases),
            "purl": purl[:2000],
            "cpe": cpe[:1000],
            "status": p.status,
            "original_status": p.original_status[:40],
            "justification": p.justification[:100],
            "impact_statement": p.impact_statement,
            "response": list(p.response),
            "action_statement": p.action_statement,
            "affected_versions": [dict(v) for v in p.affected_versions],
            "timestamp": p.timestamp,
        }
        key = (p.vulnerability_id[:200], p.product_ref[:1000], p.subcomponent_ref[:1000])
        statement = existing.pop(key, None)
        if statement is None:
            created.append(
                VexStatement(
                    document=document,
                    vulnerability_id=key[0],
                    product_ref=key[1],
                    subcomponent_ref=key[2],
                    **values,
                )
            )
            continue
        if all(getattr(statement, k) == v for k, v in values.items()):
            counts["unchanged"] += 1
            continue
        for k, v in values.items():
            setattr(statement, k, v)
        statement.save()  # records exactly the fields that changed (a status change, say)
        counts["updated"] += 1
    VexStatement.objects.bulk_create(created, batch_size=BATCH)
    ObjectChange.objects.bulk_create(
        (change_record(s, ChangeAction.CREATE, {}) for s in created), batch_size=BATCH
    )
    deleted = 0
    if existing:
        # Statements the new version no longer makes; the deletion receivers record each one.
        deleted = len(existing)
        VexStatement.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()
    return VexImportResult(
        document,
        action,
        created=len(created),
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        deleted=deleted,
    )


def _resolve_bom_links(statements: Iterable[parsers.ParsedStatement]) -> dict[str, tuple[str, str]]:
    """purl and CPE of the stored components that BOM-Links (``urn:cdx:...#ref``) point at."""
    wanted: dict[str, tuple[str, str]] = {}
    for s in statements:
        link = parsers.parse_bom_link(s.product_ref)
        if link is not None and not s.purl and not s.cpe:
            wanted[s.product_ref] = (link[0], link[2])
    found: dict[str, tuple[str, str]] = {}
    for ref, (serial, bom_ref) in wanted.items():
        component = (
            Component.objects.filter(sbom__document_id=serial, bom_ref=bom_ref)
            .only("purl", "cpe")
            .first()
        )
        if component is not None:
            found[ref] = (component.purl, component.cpe)
    return found
