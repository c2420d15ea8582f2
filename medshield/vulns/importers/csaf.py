"""CSAF 2.0 advisories (and 2.1 drafts), including the VEX profile.

A document is checked before anything is stored:

1. JSON syntax, with nesting bounded (Python's parser raises RecursionError on deep nesting);
2. the OASIS JSON schema of its ``csaf_version`` (2.0 Errata 01; 2.1 CSD03, whose CVSS v4 and
   SSVC sub-schemas are not shipped and are accepted as any object), with the FIRST CVSS
   schemas registered locally so nothing is fetched;
3. these mandatory tests of CSAF 2.0 section 6.1 (the cheap ones that protect our data):
   6.1.1 missing product ID definition, 6.1.2 multiple product ID definition, 6.1.3 circular
   product ID definition, 6.1.4 missing product group ID definition, 6.1.5 multiple product
   group ID definition, 6.1.6 contradicting product status, 6.1.7 multiple scores with the same
   version per product, 6.1.27.1-6.1.27.11 (the profile tests: document notes and references,
   vulnerabilities present or absent, product tree, vulnerability notes, product status, VEX
   product status, VEX vulnerability id, VEX impact and action statements) and 6.1.33 (multiple
   flags with VEX justification codes per product). A refusal names the test.

Spec: https://docs.oasis-open.org/csaf/csaf/v2.0/os/csaf-v2.0-os.html (sections 3, 4, 6.1).
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from importlib import resources
from typing import Any

from django.utils.translation import gettext as _

from medshield.vulns.importers.advisories import (
    ParsedAdvisory,
    ParsedStatus,
    ParsedVuln,
    write_advisory,
)
from medshield.vulns.importers.base import (
    CVE_RE,
    FeedFile,
    FeedRejected,
    ImportStats,
    cvss3_from_vector,
    decimal_score,
    parse_datetime,
    severity_of,
    text,
)

#: a CSAF document is read whole; the largest real ones are a few MB
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

_STATUS_LISTS = (
    "first_affected",
    "known_affected",
    "last_affected",
    "first_fixed",
    "fixed",
    "known_not_affected",
    "recommended",
    "under_investigation",
    "unknown",
)
#: 6.1.6: a product may sit in one of these groups only
_STATUS_GROUPS = {
    "first_affected": "affected",
    "known_affected": "affected",
    "last_affected": "affected",
    "known_not_affected": "not_affected",
    "first_fixed": "fixed",
    "fixed": "fixed",
    "under_investigation": "under_investigation",
}
_HELPER_KEYS = (
    "model_numbers",
    "serial_numbers",
    "skus",
    "sbom_urls",
    "hashes",
    "x_generic_uris",
    "purls",
)


@cache
def _validator(version: str) -> Any:
    """A jsonschema validator for ``csaf_version``, resolving every reference offline."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7, DRAFT202012

    folder = resources.files("medshield.vulns") / "schemas"

    def load(name: str) -> Any:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    resources_: list[tuple[str, Resource[Any]]] = []
    for name in ("cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json"):
        schema = load(name)
        resource = Resource.from_contents(schema, default_specification=DRAFT7)
        resources_.append((f"https://www.first.org/cvss/{name}", resource))
    if version == "2.0":
        main = load("csaf_2.0_errata01_csaf_json_schema.json")
    else:
        main = load("csaf_2.1_csd03_csaf.json")
        main["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        for url in (
            "https://www.first.org/cvss/cvss-v4.0.json",
            "https://docs.oasis-open.org/csaf/csaf/v2.1/schema/extension-content.json",
            "https://certcc.github.io/SSVC/data/schema/v2/SelectionList_2_0_0.schema.json",
        ):
            # Not shipped: the matching engine reads these parts itself and checks what it uses.
            resources_.append((url, Resource.from_contents({}, default_specification=DRAFT202012)))
    registry: Registry[Any] = Registry().with_resources(resources_)
    return Draft202012Validator(main, registry=registry)


def _ids(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class _Document:
    """A schema-valid CSAF document with its product tree resolved."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.document: dict[str, Any] = doc["document"]
        self.category: str = self.document.get("category", "")
        self.tree: dict[str, Any] = doc.get("product_tree") or {}
        self.vulns: list[dict[str, Any]] = doc.get("vulnerabilities") or []
        self.errors: list[str] = []
        self.products: list[dict[str, Any]] = []
        self.defined: dict[str, int] = defaultdict(int)
        self.groups: dict[str, list[str]] = {}
        self._walk_tree()

    # --- product tree --------------------------------------------------------------------------
    def _add(self, product: dict[str, Any], context: dict[str, str], **extra: str) -> None:
        pid = product.get("product_id", "")
        self.defined[pid] += 1
        helper = product.get("product_identification_helper") or {}
        purl = helper.get("purl") or next(iter(_ids(helper.get("purls"))), "")
        self.products.append(
            {
                "product_id": text(pid, 200),
                "name": text(product.get("name"), 500) or text(pid, 500),
                "vendor": text(context.get("vendor", ""), 200),
                "product": text(context.get("product_name", ""), 300),
                "family": text(context.get("product_family", ""), 300),
                "version": text(
                    context.get("product_version") or context.get("product_version_range", ""),
                    300,
                ),
                "version_is_range": "product_version_range" in context,
                "cpe": text(helper.get("cpe"), 400),
                "purl": text(purl, 500),
                "helpers": {k: helper[k] for k in _HELPER_KEYS if helper.get(k)},
                **extra,
            }
        )

    def _walk_tree(self) -> None:
        # Iterative: branches may nest as deep as the JSON allows.
        stack: list[tuple[dict[str, Any], dict[str, str]]] = [
            (b, {}) for b in reversed(self.tree.get("branches") or [])
        ]
        while stack:
            branch, context = stack.pop()
            here = {**context, branch.get("category", ""): branch.get("name", "")}
            if isinstance(branch.get("product"), dict):
                self._add(branch["product"], here)
            stack.extend((b, here) for b in reversed(branch.get("branches") or []))
        for product in self.tree.get("full_product_names") or []:
            self._add(product, {})
        for rel in self.tree.get("relationships") or []:
            self._add(
                rel.get("full_product_name") or {},
                {},
                relationship=text(rel.get("category"), 40),
                component_of=text(rel.get("product_reference"), 200),
                relates_to=text(rel.get("relates_to_product_reference"), 200),
            )
        for path in self.tree.get("product_paths") or []:  # CSAF 2.1
            subpaths = path.get("subpaths") or [{}]
            self._add(
                path.get("full_product_name") or {},
                {},
                relationship=text(subpaths[0].get("category"), 40),
                component_of=text(path.get("beginning_product_reference"), 200),
                relates_to=text(subpaths[-1].get("next_product_reference"), 200),
            )
        seen_groups: set[str] = set()
        for group in self.tree.get("product_groups") or []:
            gid = group.get("group_id", "")
            if gid in seen_groups:
                self.error("6.1.5", _("product group {id} is defined twice").format(id=gid))
            seen_groups.add(gid)
            self.groups[gid] = _ids(group.get("product_ids"))

    def error(self, test: str, message: str) -> None:
        self.errors.append(_("mandatory test {test}: {message}").format(test=test, message=message))

    def expand(self, item: dict[str, Any]) -> set[str]:
        """The product ids an item names directly or through its product groups."""
        found = set(_ids(item.get("product_ids")))
        for gid in _ids(item.get("group_ids")):
            found.update(self.groups.get(gid, []))
        return found

    # --- mandatory tests -----------------------------------------------------------------------
    def check(self) -> None:
        for pid, count in self.defined.items():
            if count > 1:
                self.error("6.1.2", _("product {id} is defined {n} times").format(id=pid, n=count))
        for rel in self.tree.get("relationships") or []:
            own = (rel.get("full_product_name") or {}).get("product_id")
            if own in (rel.get("product_reference"), rel.get("relates_to_product_reference")):
                self.error("6.1.3", _("product {id} is defined through itself").format(id=own))
        referenced: list[tuple[str, str]] = []
        for gid, members in self.groups.items():
            referenced += [(pid, f"product_groups[{gid}]") for pid in members]
        for rel in self.tree.get("relationships") or []:
            for key in ("product_reference", "relates_to_product_reference"):
                if isinstance(rel.get(key), str):
                    referenced.append((rel[key], "relationships"))
        for i, vuln in enumerate(self.vulns):
            where = f"vulnerabilities[{i}]"
            for name in _STATUS_LISTS:
                referenced += [
                    (p, f"{where}.product_status.{name}")
                    for p in _ids((vuln.get("product_status") or {}).get(name))
                ]
            for key in ("remediations", "threats", "flags"):
                for item in vuln.get(key) or []:
                    referenced += [(p, f"{where}.{key}") for p in _ids(item.get("product_ids"))]
                    for gid in _ids(item.get("group_ids")):
                        if gid not in self.groups:
                            self.error(
                                "6.1.4",
                                _("{where} names product group {id}, which is not defined").format(
                                    where=where, id=gid
                                ),
                            )
            for score in vuln.get("scores") or []:
                referenced += [(p, f"{where}.scores") for p in _ids(score.get("products"))]
        for pid, where in referenced:
            if pid not in self.defined:
                self.error(
                    "6.1.1",
                    _("{where} names product {id}, which is not defined").format(
                        where=where, id=pid
                    ),
                )
        for i, vuln in enumerate(self.vulns):
            self._check_vuln(i, vuln)
        self._check_profile()

    def _check_vuln(self, i: int, vuln: dict[str, Any]) -> None:
        where = f"vulnerabilities[{i}]"
        status = vuln.get("product_status") or {}
        group_of: dict[str, str] = {}
        for name, group in _STATUS_GROUPS.items():
            for pid in _ids(status.get(name)):
                if group_of.setdefault(pid, group) != group:
                    self.error(
                        "6.1.6",
                        _("{where}: product {id} is both {a} and {b}").format(
                            where=where, id=pid, a=group_of[pid], b=group
                        ),
                    )
        scored: set[tuple[str, str]] = set()
        for score in vuln.get("scores") or []:
            for key in ("cvss_v2", "cvss_v3"):
                if key not in score:
                    continue
                version = str((score[key] or {}).get("version", key))
                for pid in _ids(score.get("products")):
                    if (pid, version) in scored:
                        self.error(
                            "6.1.7",
                            _("{where}: product {id} has two CVSS {v} scores").format(
                                where=where, id=pid, v=version
                            ),
                        )
                    scored.add((pid, version))
        flagged: set[str] = set()
        for flag in vuln.get("flags") or []:
            for pid in self.expand(flag):
                if pid in flagged:
                    self.error(
                        "6.1.33",
                        _("{where}: product {id} has more than one flag").format(
                            where=where, id=pid
                        ),
                    )
                flagged.add(pid)

    def _check_profile(self) -> None:
        """Mandatory test 6.1.27: what each profile (document category) requires."""
        category = self.category
        notes = self.document.get("notes") or []
        if category in ("csaf_informational_advisory", "csaf_security_incident_response"):
            if not any(
                n.get("category") in ("description", "details", "general", "summary") for n in notes
            ):
                self.error(
                    "6.1.27.1",
                    _("the document needs a description, details, general or summary note"),
                )
            refs = self.document.get("references") or []
            if not any(r.get("category") == "external" for r in refs):
                self.error("6.1.27.2", _("the document needs an external reference"))
        if category == "csaf_informational_advisory" and self.vulns:
            self.error("6.1.27.3", _("an informational advisory must not list vulnerabilities"))
        if category in ("csaf_security_advisory", "csaf_vex"):
            if not self.tree:
                self.error("6.1.27.4", _("the document needs a product tree"))
            for i, vuln in enumerate(self.vulns):
                if not vuln.get("notes"):
                    self.error("6.1.27.5", _("vulnerabilities[{i}] has no notes").format(i=i))
                if not vuln.get("product_status"):
                    self.error(
                        "6.1.27.6", _("vulnerabilities[{i}] has no product status").format(i=i)
                    )
        if category == "csaf_security_advisory" and not self.vulns:
            self.error("6.1.27.11", _("a security advisory must list vulnerabilities"))
        if category != "csaf_vex":
            return
        for i, vuln in enumerate(self.vulns):
            status = vuln.get("product_status") or {}
            if not any(
                status.get(k)
                for k in ("fixed", "known_affected", "known_not_affected", "under_investigation")
            ):
                self.error(
                    "6.1.27.7",
                    _(
                        "vulnerabilities[{i}] has none of fixed, known_affected, "
                        "known_not_affected, under_investigation"
                    ).format(i=i),
                )
            if not vuln.get("cve") and not vuln.get("ids"):
                self.error(
                    "6.1.27.8", _("vulnerabilities[{i}] has neither cve nor ids").format(i=i)
                )
            impact: set[str] = set()
            for flag in vuln.get("flags") or []:
                impact |= self.expand(flag)
            for threat in vuln.get("threats") or []:
                if threat.get("category") == "impact":
                    impact |= self.expand(threat)
            for pid in _ids(status.get("known_not_affected")):
                if pid not in impact:
                    self.error(
                        "6.1.27.9",
                        _(
                            "vulnerabilities[{i}]: product {id} is known_not_affected without an "
                            "impact statement"
                        ).format(i=i, id=pid),
                    )
            acted: set[str] = set()
            for remediation in vuln.get("remediations") or []:
                acted |= self.expand(remediation)
            for pid in _ids(status.get("known_affected")):
                if pid not in acted:
                    self.error(
                        "6.1.27.10",
                        _(
                            "vulnerabilities[{i}]: product {id} is known_affected without an "
                            "action statement"
                        ).format(i=i, id=pid),
                    )

    # --- mapping -------------------------------------------------------------------------------
    def parsed(self, sha256: str) -> ParsedAdvisory:
        document, tracking = self.document, self.document["tracking"]
        publisher = document.get("publisher") or {}
        tlp = ((document.get("distribution") or {}).get("tlp") or {}).get("label", "")
        summary = next(
            (
                n.get("text", "")
                for n in document.get("notes") or []
                if n.get("category") in ("summary", "description", "general")
            ),
            "",
        )
        fields = {
            "publisher": text(publisher.get("name"), 200),
            "publisher_namespace": text(publisher.get("namespace"), 200),
            "category": text(self.category, 100),
            "title": text(document.get("title"), 500),
            "lang": text(document.get("lang"), 20),
            "tlp": text(tlp, 20),
            "summary": summary if isinstance(summary, str) else "",
            "version": text(tracking.get("version"), 50),
            "initial_release_date": parse_datetime(tracking.get("initial_release_date")),
            "current_release_date": parse_datetime(tracking.get("current_release_date")),
            "sha256": sha256,
        }
        advisory_id = text(tracking.get("id"), 200)
        vulns: dict[str, ParsedVuln] = {}
        for i, vuln in enumerate(self.vulns):
            vuln_id = self._vuln_id(vuln, advisory_id, i)
            entry = vulns.get(vuln_id) or self._vuln(vuln_id, vuln, advisory_id)
            vulns[vuln_id] = entry
            entry.statuses += self._statuses(vuln)
        return ParsedAdvisory(
            "csaf", advisory_id, fields, self._unique_products(), list(vulns.values())
        )

    def _unique_products(self) -> list[dict[str, Any]]:
        seen: set[str] = set()
        out = []
        for product in self.products:
            if product["product_id"] not in seen:
                seen.add(product["product_id"])
                out.append(product)
        return out

    @staticmethod
    def _vuln_id(vuln: dict[str, Any], advisory_id: str, i: int) -> str:
        cve = vuln.get("cve")
        if isinstance(cve, str) and CVE_RE.match(cve):
            return cve
        ids = vuln.get("ids") or []
        if ids and isinstance(ids[0].get("text"), str):
            return text(ids[0]["text"], 64)
        return text(f"{advisory_id}#{i + 1}", 64)

    def _vuln(self, vuln_id: str, vuln: dict[str, Any], advisory_id: str) -> ParsedVuln:
        aliases = [advisory_id] + [i.get("text", "") for i in vuln.get("ids") or []]
        cwe = vuln.get("cwe") or next(iter(vuln.get("cwes") or []), {}) or {}
        said: dict[str, Any] = {
            "title": text(vuln.get("title"), 500),
            "aliases": [text(a, 64) for a in aliases if isinstance(a, str)],
            "cwes": [cwe["id"]] if isinstance(cwe.get("id"), str) else [],
            "published": parse_datetime(vuln.get("release_date") or vuln.get("disclosure_date")),
        }
        description = next(
            (
                n.get("text", "")
                for n in vuln.get("notes") or []
                if n.get("category") == "description"
            ),
            "",
        )
        if isinstance(description, str):
            said["description"] = description
        vector, score = "", None
        scores = list(vuln.get("scores") or []) + [
            m.get("content", {}) for m in vuln.get("metrics") or []
        ]
        for item in scores:
            v3 = item.get("cvss_v3")
            if isinstance(v3, dict) and isinstance(v3.get("vectorString"), str):
                vector = text(v3["vectorString"], 100)
                score = decimal_score(v3.get("baseScore"))
                if score is None:
                    computed = cvss3_from_vector(vector)
                    score = computed[0] if computed else None
                break
        if score is not None:
            said.update(cvss3_score=score, cvss3_vector=vector, cvss3_severity=severity_of(score))
        remediations = [
            {
                "category": r.get("category", ""),
                "details": r.get("details", ""),
                "url": r.get("url", ""),
                "product_ids": sorted(self.expand(r)),
            }
            for r in vuln.get("remediations") or []
        ]
        return ParsedVuln(
            vuln_id=vuln_id,
            said=said,
            title=said["title"],
            cvss3_score=score,
            cvss3_vector=vector,
            cwe=said["cwes"][0][:20] if said["cwes"] else "",
            remediations=remediations,
        )

    def _statuses(self, vuln: dict[str, Any]) -> list[ParsedStatus]:
        justification: dict[str, str] = {}
        for flag in vuln.get("flags") or []:
            for pid in self.expand(flag):
                justification.setdefault(pid, text(flag.get("label"), 60))
        impact: dict[str, str] = {}
        for threat in vuln.get("threats") or []:
            if threat.get("category") == "impact":
                for pid in self.expand(threat):
                    impact.setdefault(pid, threat.get("details", ""))
        status = vuln.get("product_status") or {}
        return [
            ParsedStatus(pid, name, justification.get(pid, ""), impact.get(pid, ""))
            for name in _STATUS_LISTS
            for pid in dict.fromkeys(_ids(status.get(name)))
        ]


def load_document(feed: FeedFile) -> dict[str, Any]:
    """Read and parse a CSAF file, refusing oversized, deeply nested or malformed JSON."""
    data = feed.stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FeedRejected(
            _("the CSAF document is larger than {mb} MB").format(mb=MAX_DOCUMENT_BYTES >> 20)
        )
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise FeedRejected(_("the JSON nests too deeply to be a CSAF document")) from None
    except UnicodeDecodeError:
        raise FeedRejected(_("the file is not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise FeedRejected(
            _("the JSON is malformed or truncated: {error}").format(error=exc)
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("document"), dict):
        raise FeedRejected(_("not a CSAF document: there is no 'document' object"))
    return doc


def validate(doc: dict[str, Any]) -> _Document:
    """Schema and mandatory tests; raises FeedRejected naming the first problems."""
    version = doc["document"].get("csaf_version")
    if version not in ("2.0", "2.1"):
        raise FeedRejected(_("CSAF version {v!r} is not supported (2.0, 2.1)").format(v=version))
    errors = sorted(_validator(version).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            _("schema: {path}: {message}").format(
                path="/".join(str(p) for p in e.absolute_path) or "/", message=e.message[:200]
            )
            for e in errors[:5]
        ]
        more = len(errors) - len(lines)
        if more:
            lines.append(_("... and {n} more schema errors").format(n=more))
        raise FeedRejected(
            _("not a valid CSAF {v} document:\n").format(v=version) + "\n".join(lines)
        )
    checked = _Document(doc)
    checked.check()
    if checked.errors:
        raise FeedRejected(
            _("not a valid CSAF {v} document:\n").format(v=version) + "\n".join(checked.errors[:10])
        )
    return checked


def import_csaf(feed: FeedFile, *, sha256: str) -> ImportStats:
    """Import one CSAF document: its products, vulnerabilities and product statuses."""
    stats = ImportStats()
    checked = validate(load_document(feed))
    write_advisory(checked.parsed(sha256), stats)
    return stats
