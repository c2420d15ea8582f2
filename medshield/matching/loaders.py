"""Turn already-parsed feed documents (CSAF JSON, NVD API 2.0 ``cve`` objects, JVN VULDEF XML)
into :class:`Vulnerability` records with applicability rules.

Fetching, schema validation and storage belong to the feeds package; this module only maps the
applicability parts, so that the engine and its tests can run on the corpus without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from defusedxml import ElementTree

from medshield.matching.model import (
    ConfigNode,
    CpeMatch,
    CsafProductRule,
    JvnRule,
    NvdConfiguration,
    Source,
    Vulnerability,
)

# ---------------------------------------------------------------------------------------------
# CSAF


@dataclass(frozen=True)
class CsafProduct:
    """A product of a CSAF product tree with the branch path resolved."""

    product_id: str
    name: str
    vendor: str = ""
    product: str = ""
    version: str | None = None
    version_range: str | None = None
    cpe: str | None = None
    purl: str | None = None
    model_numbers: tuple[str, ...] = ()


def _helper_fields(fpn: Mapping[str, Any]) -> dict[str, Any]:
    helper = fpn.get("product_identification_helper") or {}
    purl = helper.get("purl") or next(iter(helper.get("purls") or []), None)  # 2.0 / 2.1
    return {
        "cpe": helper.get("cpe"),
        "purl": purl,
        "model_numbers": tuple(helper.get("model_numbers") or ()),
    }


def csaf_products(doc: Mapping[str, Any]) -> dict[str, CsafProduct]:
    """All products of a CSAF document by id: branches, full_product_names and relationships."""
    tree = doc.get("product_tree") or {}
    products: dict[str, CsafProduct] = {}

    def walk(branches: Iterable[Mapping[str, Any]], path: dict[str, str]) -> None:
        for branch in branches:
            here = dict(path)
            category, name = branch.get("category", ""), branch.get("name", "")
            if category == "product_name" and "product_name" in here:
                # Nested product names ("Alaris Gateway Workstation" > "Alaris GS"): keep the
                # innermost, which is the most specific.
                here["product_name"] = name
            else:
                here[category] = name
            product = branch.get("product")
            if product:
                pid = product["product_id"]
                products[pid] = CsafProduct(
                    product_id=pid,
                    name=product.get("name", name),
                    vendor=here.get("vendor", ""),
                    product=here.get("product_name") or here.get("product_family", ""),
                    version=here.get("product_version"),
                    version_range=here.get("product_version_range"),
                    **_helper_fields(product),
                )
            walk(branch.get("branches") or (), here)

    walk(tree.get("branches") or (), {})
    for fpn in tree.get("full_product_names") or ():
        products[fpn["product_id"]] = CsafProduct(
            product_id=fpn["product_id"], name=fpn.get("name", ""), product=fpn.get("name", ""),
            **_helper_fields(fpn),
        )  # fmt: skip
    for rel in tree.get("relationships") or ():
        # "X installed_on Y" creates a new product id; what is vulnerable is X, on platform Y.
        fpn = rel.get("full_product_name") or {}
        base = products.get(rel.get("product_reference", ""))
        if base is None or "product_id" not in fpn:
            continue
        products[fpn["product_id"]] = CsafProduct(
            product_id=fpn["product_id"], name=fpn.get("name", base.name), vendor=base.vendor,
            product=base.product, version=base.version, version_range=base.version_range,
            cpe=base.cpe, purl=base.purl, model_numbers=base.model_numbers,
        )  # fmt: skip
    return products


def _expand(
    ids: Iterable[str], groups: Mapping[str, list[str]], group_ids: Iterable[str]
) -> set[str]:
    out = set(ids)
    for gid in group_ids:
        out |= set(groups.get(gid, ()))
    return out


def csaf_vulnerabilities(doc: Mapping[str, Any]) -> list[Vulnerability]:
    """One :class:`Vulnerability` per CSAF vulnerability, with a rule per (product, status)."""
    document = doc.get("document") or {}
    advisory = (document.get("tracking") or {}).get("id") or None
    products = csaf_products(doc)
    groups = {
        g["group_id"]: list(g.get("product_ids") or ())
        for g in (doc.get("product_tree") or {}).get("product_groups") or ()
    }
    is_vex = document.get("category") == "csaf_vex"
    out: list[Vulnerability] = []
    for index, vuln in enumerate(doc.get("vulnerabilities") or ()):
        ids = {vuln["cve"]} if vuln.get("cve") else set()
        ids |= {i["text"] for i in vuln.get("ids") or () if i.get("text")}
        if not ids:
            ids = {f"{advisory or 'CSAF'}#{index + 1}"}
        justification: dict[str, str] = {}
        for flag in vuln.get("flags") or ():
            for pid in _expand(flag.get("product_ids") or (), groups, flag.get("group_ids") or ()):
                justification[pid] = flag.get("label", "")
        for threat in vuln.get("threats") or ():
            if threat.get("category") == "impact":
                for pid in _expand(
                    threat.get("product_ids") or (), groups, threat.get("group_ids") or ()
                ):
                    justification.setdefault(pid, threat.get("details", ""))
        remediation: dict[str, str] = {}
        for rem in vuln.get("remediations") or ():
            for pid in _expand(rem.get("product_ids") or (), groups, rem.get("group_ids") or ()):
                text = f"{rem.get('category', '')}: {rem.get('details', '')}".strip(": ")
                remediation.setdefault(pid, text)
        rules: list[CsafProductRule] = []
        for category, pids in (vuln.get("product_status") or {}).items():
            for pid in pids:
                product = products.get(pid)
                if product is None:
                    continue  # a dangling id; the feeds parser reports it
                rules.append(
                    CsafProductRule(
                        product_id=pid,
                        vendor=product.vendor,
                        product=product.product,
                        category=category,
                        version=product.version,
                        version_range=product.version_range,
                        cpe=product.cpe,
                        purl=product.purl,
                        model_numbers=product.model_numbers,
                        full_name=product.name,
                        justification=justification.get(pid),
                        remediation=remediation.get(pid),
                        source=Source.VEX if is_vex else Source.CSAF,
                        advisory=advisory,
                    )
                )
        out.append(
            Vulnerability.create(
                ids,
                advisories={advisory} if advisory else set(),
                rules=tuple(rules),
                sources={Source.VEX if is_vex else Source.CSAF},
                title=vuln.get("title", ""),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# NVD


def nvd_configurations(cve: Mapping[str, Any]) -> tuple[NvdConfiguration, ...]:
    """The ``configurations`` of an NVD API 2.0 ``cve`` object as rules."""
    configs = []
    for config in cve.get("configurations") or ():
        nodes = tuple(
            ConfigNode(
                matches=tuple(
                    CpeMatch(
                        criteria=m["criteria"],
                        vulnerable=bool(m.get("vulnerable", True)),
                        version_start_including=m.get("versionStartIncluding"),
                        version_start_excluding=m.get("versionStartExcluding"),
                        version_end_including=m.get("versionEndIncluding"),
                        version_end_excluding=m.get("versionEndExcluding"),
                    )
                    for m in node.get("cpeMatch") or ()
                ),
                operator=node.get("operator", "OR"),
                negate=bool(node.get("negate", False)),
            )
            for node in config.get("nodes") or ()
        )
        configs.append(
            NvdConfiguration(
                nodes=nodes,
                operator=config.get("operator", "OR"),
                negate=bool(config.get("negate", False)),
                advisory=cve.get("id"),
            )
        )
    return tuple(configs)


_STORED = msgspec.json.Decoder(tuple[NvdConfiguration, ...])


def stored_nvd_configurations(data: str | bytes) -> tuple[NvdConfiguration, ...]:
    """The configurations as medshield stores them (``vulns.NvdConfigurations.data``) as rules.

    The stored form is NVD's ``configurations`` JSON without the fields the matcher does not
    read, where an absent operator is OR, negate false and vulnerable true: the rule types'
    own defaults and JSON names, so msgspec decodes it into them directly (a value of another
    type raises ``msgspec.ValidationError``; the importer stores none).
    """
    return _STORED.decode(data)


def nvd_vulnerability(cve: Mapping[str, Any]) -> Vulnerability:
    """An NVD ``cve`` object (the API 2.0 shape, also used by the fkie-cad mirror)."""
    return Vulnerability.create(
        {cve["id"]},
        advisories={cve["id"]},
        rules=nvd_configurations(cve),
        sources={Source.NVD},
    )


# ---------------------------------------------------------------------------------------------
# JVN

_VULDEF = "{http://jvn.jp/vuldef/}"


def jvn_vulnerabilities(xml_text: str | bytes) -> list[Vulnerability]:
    """Records of a MyJVN ``getVulnDetailInfo`` (VULDEF 3.2) response.

    Each ``AffectedItem`` becomes a :class:`JvnRule` (CPE 2.2 + free-text version numbers); the
    related CVE IDs become aliases of the JVNDB ID.
    """
    root = ElementTree.fromstring(xml_text)
    out = []
    for info in root.iter(f"{_VULDEF}Vulinfo"):
        jvndb = (info.findtext(f"{_VULDEF}VulinfoID") or "").strip()
        data = info.find(f"{_VULDEF}VulinfoData")
        if not jvndb or data is None:
            continue
        rules = []
        for affected in data.iter(f"{_VULDEF}AffectedItem"):
            cpe = (affected.findtext(f"{_VULDEF}Cpe") or "").strip()
            if not cpe:
                continue
            rules.append(
                JvnRule(
                    cpe=cpe,
                    vendor=(affected.findtext(f"{_VULDEF}Name") or "").strip(),
                    product=(affected.findtext(f"{_VULDEF}ProductName") or "").strip(),
                    version_texts=tuple(
                        v.text.strip()
                        for v in affected.findall(f"{_VULDEF}VersionNumber")
                        if v.text and v.text.strip()
                    ),
                    advisory=jvndb,
                )
            )
        ids = {jvndb}
        for related in data.iter(f"{_VULDEF}RelatedItem"):
            vid = (related.findtext(f"{_VULDEF}VulinfoID") or "").strip()
            if vid.upper().startswith("CVE-"):
                ids.add(vid.upper())
        out.append(
            Vulnerability.create(
                ids,
                advisories={jvndb},
                rules=tuple(rules),
                sources={Source.JVN},
                title=(data.findtext(f"{_VULDEF}Title") or "").strip(),
            )
        )
    return out
