"""JVN iPedia records from MyJVN (API 3.2, ``feed=hnd``): VULDEF detail and JVNRSS overview XML.

Each record (a JVNDB id) becomes an :class:`~medshield.vulns.models.Advisory` of kind ``jvn``
with its Japanese (or English) title, its affected products (CPE 2.2 names, JVN's vendor and
product spelling and the free-text version, often Japanese such as "v6 R4 およびそれ以前") and
the CVEs it covers; a record without a CVE is a vulnerability under its JVNDB id.

Parsing goes through defusedxml's streaming expat parser with DTDs, entities and external
references forbidden: feeds never need them, and they are how XML bombs and XXE work.

Schemas: https://jvndb.jvn.jp/schema/vuldef_3.2.xsd and jvnrss_3.2.xsd (saved in the corpus);
research/formats.md section 2.
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
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
    Progress,
    decimal_score,
    parse_datetime,
    severity_of,
    text,
)

VULDEF = "{http://jvn.jp/vuldef/}"
RSS = "{http://purl.org/rss/1.0/}"
SEC = "{http://jvn.jp/rss/mod_sec/3.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
DCTERMS = "{http://purl.org/dc/terms/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JVNDB_RE = re.compile(r"^JVNDB-\d{4}-\d{6}$")
_TAG = re.compile(r"<[^>]+>")


def _plain(value: str | None) -> str:
    """JVN's text with its escaped HTML markup reduced to plain text."""
    if not value:
        return ""
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", value))).strip()


def _txt(element: Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _titles(lang: str, title: str) -> dict[str, str]:
    return {"title_ja": text(title, 500)} if lang.startswith("ja") else {"title": text(title, 500)}


def _vulns(
    jvndb: str,
    cves: list[str],
    said: dict[str, Any],
    products: list[dict[str, Any]],
    cvss: tuple[Any, str] | None,
    cwes: list[str],
    aliases: list[str],
) -> list[ParsedVuln]:
    ids = list(dict.fromkeys(cves)) or [jvndb]
    score, vector = cvss if cvss else (None, "")
    if score is not None:
        said = {
            **said,
            "cvss3_score": score,
            "cvss3_vector": vector,
            "cvss3_severity": severity_of(score),
        }
    return [
        ParsedVuln(
            vuln_id=vuln_id,
            said={**said, "cwes": cwes, "aliases": [a for a in (jvndb, *aliases) if a != vuln_id]},
            title=said.get("title_ja") or said.get("title", ""),
            cvss3_score=score,
            cvss3_vector=vector,
            cwe=cwes[0][:20] if cwes else "",
            statuses=[ParsedStatus(p["product_id"], "known_affected") for p in products],
        )
        for vuln_id in ids
    ]


def _vuldef(item: Element, lang: str, sha256: str) -> ParsedAdvisory:
    jvndb = _txt(item, f"{VULDEF}VulinfoID")
    data = item.find(f"{VULDEF}VulinfoData")
    title = _txt(data, f"{VULDEF}Title")
    products: list[dict[str, Any]] = []
    for n, affected in enumerate(data.iter(f"{VULDEF}AffectedItem") if data is not None else ()):
        versions = [(v.text or "").strip() for v in affected.findall(f"{VULDEF}VersionNumber")]
        for m, version in enumerate([v for v in versions if v] or [""]):
            products.append(
                {
                    "product_id": f"jvn-{n + 1}-{m + 1}",
                    "name": text(
                        " ".join(p for p in (_txt(affected, f"{VULDEF}ProductName"), version) if p),
                        500,
                    ),
                    "vendor": text(_txt(affected, f"{VULDEF}Name"), 200),
                    "product": text(_txt(affected, f"{VULDEF}ProductName"), 300),
                    "version": text(version, 300),
                    "version_is_range": bool(version),
                    "cpe": text(_txt(affected, f"{VULDEF}Cpe"), 400),
                }
            )
    cvss = None
    for element in data.iter(f"{VULDEF}Cvss") if data is not None else ():
        if element.get("version", "").startswith("3"):
            score = decimal_score(_txt(element, f"{VULDEF}Base"))
            if score is not None:
                cvss = (score, text(_txt(element, f"{VULDEF}Vector"), 100))
    cves, cwes, aliases = [], [], []
    for related in data.iter(f"{VULDEF}RelatedItem") if data is not None else ():
        ref = _txt(related, f"{VULDEF}VulinfoID")
        if CVE_RE.match(ref):
            cves.append(ref)
        elif related.get("type") == "cwe" and ref.startswith("CWE-"):
            cwes.append(ref)
        elif ref.startswith(("JVN#", "JVNVU#", "JVNTA#")):
            aliases.append(ref)
    overview = _plain(_txt(data, f"{VULDEF}VulinfoDescription/{VULDEF}Overview"))
    history = [_txt(h, f"{VULDEF}HistoryNo") for h in item.iter(f"{VULDEF}HistoryItem")]
    fields = {
        "publisher": "IPA / JVN iPedia",
        "category": "vuldef",
        "title": text(title, 500) or jvndb,
        "lang": lang,
        "summary": overview,
        "url": "",
        "version": text(history[-1] if history else "", 50),
        "initial_release_date": parse_datetime(_txt(data, f"{VULDEF}DateFirstPublished")),
        "current_release_date": parse_datetime(_txt(data, f"{VULDEF}DateLastUpdated")),
        "sha256": sha256,
    }
    said = {**_titles(lang, title), "published": parse_datetime(_txt(data, f"{VULDEF}DatePublic"))}
    return ParsedAdvisory(
        "jvn", jvndb, fields, products, _vulns(jvndb, cves, said, products, cvss, cwes, aliases)
    )


def _rss(item: Element, lang: str, sha256: str) -> ParsedAdvisory:
    jvndb = _txt(item, f"{SEC}identifier")
    title = _txt(item, f"{RSS}title")
    products = [
        {
            "product_id": f"jvn-{n + 1}",
            "name": text(cpe.get("product") or (cpe.text or "").strip(), 500),
            "vendor": text(cpe.get("vendor"), 200),
            "product": text(cpe.get("product"), 300),
            "cpe": text(cpe.text, 400),
        }
        for n, cpe in enumerate(item.findall(f"{SEC}cpe"))
    ]
    cvss = None
    for element in item.findall(f"{SEC}cvss"):
        score = decimal_score(element.get("score"))
        if element.get("version", "").startswith("3") and score is not None:
            cvss = (score, text(element.get("vector"), 100))
    cves, cwes = [], []
    for ref in item.findall(f"{SEC}references"):
        ref_id = ref.get("id", "")
        if CVE_RE.match(ref_id) and ref.get("source") in ("CVE", "NVD"):
            cves.append(ref_id)
        elif ref_id.startswith("CWE-"):
            cwes.append(ref_id)
    fields = {
        "publisher": text(_txt(item, f"{DC}creator"), 200) or "IPA / JVN iPedia",
        "category": "jvnrss",
        "title": text(title, 500) or jvndb,
        "lang": lang,
        "summary": _plain(_txt(item, f"{RSS}description")),
        "url": text(_txt(item, f"{RSS}link"), 500),
        "version": "",
        "initial_release_date": parse_datetime(_txt(item, f"{DCTERMS}issued")),
        "current_release_date": parse_datetime(_txt(item, f"{DCTERMS}modified")),
        "sha256": sha256,
    }
    said = {**_titles(lang, title), "published": parse_datetime(_txt(item, f"{DCTERMS}issued"))}
    return ParsedAdvisory(
        "jvn",
        jvndb,
        fields,
        products,
        _vulns(jvndb, cves, said, products, cvss, list(dict.fromkeys(cwes)), []),
    )


def import_jvn(feed: FeedFile, *, sha256: str, progress: Progress | None) -> ImportStats:
    """Import the JVNDB records of a VULDEF or JVNRSS document."""
    stats = ImportStats()
    root: Element | None = None
    lang = ""
    kind = ""
    try:
        events = iterparse(
            feed.stream,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        for event, element in events:
            if root is None:
                root = element
                lang = text(element.get(XML_LANG, ""), 20)
                if element.tag == f"{VULDEF}VULDEF-Document":
                    kind = "vuldef"
                elif element.tag.endswith("}RDF"):
                    kind = "jvnrss"
                else:
                    raise FeedRejected(
                        _(
                            "the XML root <{tag}> is neither a JVN VULDEF nor a JVNRSS document"
                        ).format(tag=element.tag)
                    )
                continue
            if event != "end":
                continue
            parsed = None
            if kind == "vuldef" and element.tag == f"{VULDEF}Vulinfo":
                parsed = _vuldef(element, lang, sha256)
            elif kind == "jvnrss" and element.tag == f"{RSS}item":
                parsed = _rss(element, lang, sha256)
            if parsed is None:
                continue
            if not JVNDB_RE.match(parsed.advisory_id):
                raise FeedRejected(
                    _("a record has the id {id!r}, not a JVNDB id").format(id=parsed.advisory_id)
                )
            if parsed.release is None:
                raise FeedRejected(
                    _("{id}: the last-updated date is missing or not a date").format(
                        id=parsed.advisory_id
                    )
                )
            write_advisory(parsed, stats)
            # Constant memory: drop what was read (the root keeps only empty children).
            element.clear()
            root.clear()
            if progress:
                progress(feed.position(), feed.size)
    except DefusedXmlException as exc:
        raise FeedRejected(
            _(
                "the XML declares a DTD or entities ({error}); refused, as feeds never do and "
                "entity expansion is how XML bombs work"
            ).format(error=type(exc).__name__)
        ) from None
    except LookupError as exc:  # an encoding declaration Python does not know (found by fuzzing)
        raise FeedRejected(
            _("the XML declares an encoding that is not known: {reason}").format(reason=exc)
        ) from None
    except ParseError as exc:
        raise FeedRejected(
            _("the XML is malformed or truncated: {error}").format(error=exc)
        ) from None
    if not (stats.created or stats.updated or stats.unchanged):
        raise FeedRejected(_("the document holds no JVNDB records"))
    return stats
