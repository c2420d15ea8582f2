"""The matching engine: interfaces (STYLE.md rule 8) and the rule-based matcher.

Every verdict is three-valued. ``True`` becomes a *confirmed* finding, ``None`` an *uncertain*
one (a version that cannot be compared, a product matched only by name), ``False`` no finding.
An identity mismatch (another vendor or product) is always ``False``, so "uncertain" is reserved
for items that really are the named product.
"""

from __future__ import annotations

import fnmatch
import gc
import json
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache

from packageurl import PackageURL

from medshield.matching.compiled import (
    CACHE_LIMIT,
    CompiledRule,
    CriteriaNames,
    ItemView,
    cpe_or_none,
    evaluate_nvd,
)
from medshield.matching.cpe import Cpe, _attr_match, vendor_product
from medshield.matching.model import (
    Certainty,
    CsafProductRule,
    Evidence,
    Finding,
    InventoryItem,
    JvnRule,
    NvdConfiguration,
    PurlRule,
    Rule,
    Source,
    Status,
    VexStatement,
    Vulnerability,
)
from medshield.matching.names import EMPTY_ALIASES, AliasTable
from medshield.matching.versions import Tri, VersionSpec, parse_range

# ---------------------------------------------------------------------------------------------
# Interfaces


class InventorySource(ABC):
    """Where inventory items come from: the asset register, SBOM components, a test list."""

    @abstractmethod
    def items(self) -> Iterable[InventoryItem]: ...


class AdvisoryService(ABC):
    """Answers "which vulnerabilities might concern this item" (a cheap, over-inclusive filter)."""

    @abstractmethod
    def query(self, item: InventoryItem) -> list[Vulnerability]: ...

    def query_all(
        self, items: Iterable[InventoryItem]
    ) -> Iterator[tuple[InventoryItem, list[Vulnerability]]]:
        """Batched form; services backed by a database override it to avoid one query per item."""
        for item in items:
            yield item, self.query(item)


class Matcher(ABC):
    """Decides which candidate vulnerabilities affect an item and how certainly."""

    @abstractmethod
    def match_item(self, item: InventoryItem, vulns: Iterable[Vulnerability]) -> list[Finding]: ...

    def match(self, inventory: InventorySource, service: AdvisoryService) -> list[Finding]:
        findings: list[Finding] = []
        for item, vulns in service.query_all(inventory.items()):
            findings.extend(self.match_item(item, vulns))
        return findings


class ReportFormat(ABC):
    """Renders findings for the CLI or an export."""

    @abstractmethod
    def format(self, findings: Iterable[Finding]) -> str: ...


# ---------------------------------------------------------------------------------------------
# Simple implementations


@dataclass(frozen=True)
class StaticInventory(InventorySource):
    """A fixed list of items (tests, one SBOM, a converted Django queryset)."""

    entries: tuple[InventoryItem, ...]

    def items(self) -> Iterable[InventoryItem]:
        return self.entries


def _names(names: CriteriaNames | None, aliases: AliasTable) -> CriteriaNames:
    """``names`` if given (for the same aliases), else a new cache."""
    if names is None:
        return CriteriaNames(aliases)
    if names.aliases != aliases:
        raise ValueError("the CPE names' keys were read under other aliases")
    return names


def _key(aliases: AliasTable, vendor: str, product: str) -> str:
    return f"{aliases.canonical(vendor)}\0{aliases.canonical(product)}"


@lru_cache(maxsize=65536)
def _purl_key(purl: str) -> str | None:
    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return None
    return f"purl:{p.type}/{(p.namespace or '').lower()}/{p.name.lower()}"


class InMemoryAdvisoryService(AdvisoryService):
    """Indexes rules by canonical vendor/product and purl package, so an item sees only the few
    vulnerabilities that name its product, not the whole NVD."""

    def __init__(
        self,
        vulns: Iterable[Vulnerability],
        aliases: AliasTable = EMPTY_ALIASES,
        names: CriteriaNames | None = None,
    ) -> None:
        self.aliases = aliases
        #: the CPE names' keys, to share with a RuleMatcher of the same aliases
        self.names = _names(names, aliases)
        self._index: dict[str, list[Vulnerability]] = defaultdict(list)
        # Model-number patterns with wildcards cannot be indexed; they are checked for every item.
        self._unindexed: list[Vulnerability] = []
        with gc_paused():  # millions of small objects; see gc_paused
            self._build(vulns)

    def _build(self, vulns: Iterable[Vulnerability]) -> None:
        for vuln in vulns:
            keys: set[str] = set()
            scan = False
            for rule in vuln.rules:
                rule_keys = self._rule_keys(rule)
                keys |= rule_keys
                scan = scan or (isinstance(rule, CsafProductRule) and bool(rule.model_numbers))
            for k in keys:
                self._index[k].append(vuln)
            if scan:
                self._unindexed.append(vuln)

    def _rule_keys(self, rule: Rule) -> set[str]:
        keys: set[str] = set()
        cpes: list[str] = []
        if isinstance(rule, NvdConfiguration):
            cpes = [m.criteria for node in rule.nodes for m in node.matches if m.vulnerable]
        elif isinstance(rule, JvnRule):
            cpes = [rule.cpe]
            if rule.vendor and rule.product:
                keys.add(_key(self.aliases, rule.vendor, rule.product))
        elif isinstance(rule, CsafProductRule):
            keys.add(_key(self.aliases, rule.vendor, rule.product))
            cpes = [rule.cpe] if rule.cpe else []
            if rule.purl and (pk := _purl_key(rule.purl)):
                keys.add(pk)
        elif isinstance(rule, PurlRule) and (pk := _purl_key(rule.purl)):
            keys.add(pk)
        for text in cpes:
            names = self.names(text)
            if names is not None:
                keys.add(f"{names[0]}\0{names[1]}")  # as _key() writes it
        return keys

    def item_keys(self, item: InventoryItem) -> set[str]:
        keys = {_key(self.aliases, item.vendor, item.product)}
        keys |= {_key(self.aliases, item.vendor, hw) for hw in item.hardware}
        for text in item.cpes:
            names = vendor_product(text)
            if names is not None:
                keys.add(_key(self.aliases, *names))
        if item.purl and (pk := _purl_key(item.purl)):
            keys.add(pk)
        return keys

    def query(self, item: InventoryItem) -> list[Vulnerability]:
        seen: dict[str, Vulnerability] = {}
        for k in self.item_keys(item):
            for vuln in self._index.get(k, ()):
                seen.setdefault(vuln.id, vuln)
        if item.model_numbers:
            for vuln in self._unindexed:
                seen.setdefault(vuln.id, vuln)
        return [seen[k] for k in sorted(seen)]


class JsonReport(ReportFormat):
    """The JSON list that ``medshield findings list --format json`` prints (without priority)."""

    def format(self, findings: Iterable[Finding]) -> str:
        return json.dumps(
            [
                {
                    "item": f.item.key,
                    "asset_tag": f.item.asset_key or f.item.key,
                    "cve": f.vulnerability,
                    "aliases": sorted(f.aliases),
                    "advisories": list(f.advisories),
                    "certainty": f.certainty.value,
                    "status": f.status.value,
                    "reason": f.reason,
                    "justification": f.justification,
                    "sources": [s.value for s in f.sources],
                }
                for f in findings
            ],
            ensure_ascii=False,
            indent=2,
        )


# ---------------------------------------------------------------------------------------------
# The rule matcher

_CSAF_STATUS = {
    "first_affected": Status.AFFECTED,
    "known_affected": Status.AFFECTED,
    "last_affected": Status.AFFECTED,
    "first_fixed": Status.FIXED,
    "fixed": Status.FIXED,
    "known_not_affected": Status.NOT_AFFECTED,
    "under_investigation": Status.UNDER_INVESTIGATION,
}
_POSITIVE = {Status.AFFECTED, Status.UNDER_INVESTIGATION}


def _certainty(verdict: Tri) -> Certainty:
    return Certainty.CONFIRMED if verdict is True else Certainty.UNCERTAIN


def _cap(verdict: Tri) -> Tri:
    """A match found only by name is never better than uncertain."""
    return None if verdict is True else verdict


class RuleMatcher(Matcher):
    """Evaluates NVD, CSAF, JVN and purl rules and VEX statements against inventory items."""

    def __init__(
        self,
        aliases: AliasTable = EMPTY_ALIASES,
        vex: Iterable[VexStatement] = (),
        names: CriteriaNames | None = None,
    ) -> None:
        """``names``: the CPE names' keys an InMemoryAdvisoryService of the same aliases read
        (its ``names``), so that each is read once."""
        self.aliases = aliases
        self._vex: Mapping[str, list[VexStatement]] = defaultdict(list)
        for statement in vex:
            self._vex[statement.vulnerability.upper()].append(statement)
        # Compiled forms, built on first use (see compiled.py). Rules are keyed by id() and the
        # entry keeps the rule alive, so an id cannot be reused while its entry exists; hashing
        # a configuration would walk all of its ranges on every lookup.
        self._names = _names(names, aliases)
        self._rules: dict[int, tuple[NvdConfiguration, CompiledRule]] = {}

    # -- entry point -----------------------------------------------------------------------

    def match(self, inventory: InventorySource, service: AdvisoryService) -> list[Finding]:
        """As :meth:`Matcher.match`, but each distinct item identity is queried and matched once.

        A fleet repeats the same component (the same vendor, product, version, CPEs...) in many
        SBOMs and assets; the findings of the first are re-addressed to the others, which is
        exact because a verdict depends only on those fields, never on ``key``/``asset_key``.
        """
        with gc_paused():
            return self._match(inventory, service)

    def _match(self, inventory: InventorySource, service: AdvisoryService) -> list[Finding]:
        items = list(inventory.items())
        by_identity: dict[tuple[object, ...], list[InventoryItem]] = {}
        for item in items:
            by_identity.setdefault(_identity(item), []).append(item)
        matched: dict[tuple[object, ...], list[Finding]] = {}
        for item, vulns in service.query_all(group[0] for group in by_identity.values()):
            matched[_identity(item)] = self.match_item(item, vulns)
        findings: list[Finding] = []
        for item in items:
            found = matched[_identity(item)]
            if found and found[0].item is not item:
                found = [replace(f, item=item) for f in found]
            findings.extend(found)
        return findings

    def match_item(self, item: InventoryItem, vulns: Iterable[Vulnerability]) -> list[Finding]:
        with gc_paused():
            return self._match_item(item, vulns)

    def _match_item(self, item: InventoryItem, vulns: Iterable[Vulnerability]) -> list[Finding]:
        findings = []
        view = ItemView(item, self.aliases, cpe_or_none)
        for vuln in vulns:
            evidence = [e for rule in vuln.rules if (e := self._evaluate(view, rule)) is not None]
            for vid in sorted(vuln.all_ids):
                for statement in self._vex.get(vid.upper(), ()):
                    e = self._evaluate_vex(item, statement)
                    if e is not None:
                        evidence.append(e)
            finding = self._finding(item, vuln, evidence)
            if finding is not None:
                findings.append(finding)
        return findings

    def _finding(
        self, item: InventoryItem, vuln: Vulnerability, evidence: list[Evidence]
    ) -> Finding | None:
        positive = [e for e in evidence if e.status in _POSITIVE]
        if not positive:
            return None  # a VEX or "fixed" statement alone does not create a finding
        closing = [
            e for e in evidence if e.status not in _POSITIVE and e.certainty is Certainty.CONFIRMED
        ]
        # A manufacturer's VEX outranks an advisory's product_status; among equals, first wins.
        closing.sort(key=lambda e: e.source is not Source.VEX)
        doubtful = [
            e for e in evidence if e.status not in _POSITIVE and e.certainty is Certainty.UNCERTAIN
        ]
        if closing:
            status = closing[0].status
        elif any(e.status is Status.AFFECTED for e in positive):
            status = Status.AFFECTED
        else:
            status = Status.UNDER_INVESTIGATION
        confirmed = any(
            e.certainty is Certainty.CONFIRMED and e.status is Status.AFFECTED for e in positive
        )
        reasons = [
            f"{e.source.value}{' ' + e.advisory if e.advisory else ''}: {e.reason}"
            for e in positive
        ]
        reasons += [
            f"closed by {e.source.value}{' ' + e.advisory if e.advisory else ''}: {e.reason}"
            for e in closing[:1]
        ]
        reasons += [
            f"may not apply ({e.source.value}{' ' + e.advisory if e.advisory else ''}: {e.reason})"
            for e in doubtful
        ]
        used = positive + closing[:1] + doubtful
        return Finding(
            item=item,
            vulnerability=vuln.id,
            aliases=vuln.aliases,
            advisories=tuple(sorted({e.advisory for e in used if e.advisory})),
            certainty=Certainty.CONFIRMED if confirmed else Certainty.UNCERTAIN,
            status=status,
            reason="; ".join(reasons),
            sources=tuple(sorted({e.source for e in used}, key=lambda s: s.value)),
            evidence=tuple(used),
            justification=closing[0].reason if closing else None,
        )

    def evaluate(self, item: InventoryItem, rule: Rule) -> Evidence | None:
        """The verdict of one rule on one item, or None when the rule does not concern it."""
        return self._evaluate(ItemView(item, self.aliases, cpe_or_none), rule)

    def _evaluate(self, view: ItemView, rule: Rule) -> Evidence | None:
        if isinstance(rule, NvdConfiguration):
            return self._evaluate_nvd(view, rule)
        if isinstance(rule, CsafProductRule):
            return self._evaluate_csaf(view.item, rule)
        if isinstance(rule, JvnRule):
            return self._evaluate_jvn(view.item, rule)
        return self._evaluate_purl(view.item, rule)

    # -- names and CPEs --------------------------------------------------------------------

    def _same(self, a: str, b: str) -> bool:
        return self.aliases.same(a, b)

    def _cpe_identity(self, criterion: Cpe, name: Cpe) -> bool:
        if not _attr_match(criterion.part, name.part):
            return False
        if not (
            self._same(criterion.vendor, name.vendor)
            and self._same(criterion.product, name.product)
        ):
            return False
        return all(
            _attr_match(getattr(criterion, f), getattr(name, f))
            for f in (
                "update",
                "edition",
                "language",
                "sw_edition",
                "target_sw",
                "target_hw",
                "other",
            )
        )

    def _compiled(self, rule: NvdConfiguration) -> CompiledRule:
        entry = self._rules.get(id(rule))
        if entry is not None and entry[0] is rule:
            return entry[1]
        compiled = CompiledRule(rule, self._names)
        if len(self._rules) >= CACHE_LIMIT:
            self._rules.clear()
        self._rules[id(rule)] = (rule, compiled)
        return compiled

    # -- NVD -------------------------------------------------------------------------------

    def _evaluate_nvd(self, view: ItemView, rule: NvdConfiguration) -> Evidence | None:
        result = evaluate_nvd(view, self._compiled(rule))
        if result is None:
            return None
        verdict, reason = result
        return Evidence(rule.source, rule.advisory, _certainty(verdict), f"configuration {reason}")

    # -- CSAF ------------------------------------------------------------------------------

    def _csaf_identity(self, item: InventoryItem, rule: CsafProductRule) -> tuple[Tri, str]:
        if rule.cpe:
            criterion = cpe_or_none(rule.cpe)
            if criterion is not None:
                for text in item.cpes:
                    name = cpe_or_none(text)
                    if name is not None and self._cpe_identity(criterion, name):
                        return True, f"CPE {text} matches {rule.cpe}"
        if rule.purl and item.purl and _purl_key(rule.purl) == _purl_key(item.purl):
            return True, f"purl {item.purl} matches {rule.purl}"
        if rule.model_numbers and item.model_numbers:
            for pattern in rule.model_numbers:
                for model in item.model_numbers:
                    if _model_match(pattern, model):
                        return True, f"model number {model!r} matches {pattern!r}"
        if self._same(rule.vendor, item.vendor) and self._same(rule.product, item.product):
            return (
                True,
                f"name {item.vendor!r} {item.product!r} = {rule.vendor!r} {rule.product!r}",
            )
        return False, ""

    def _evaluate_csaf(self, item: InventoryItem, rule: CsafProductRule) -> Evidence | None:
        status = _CSAF_STATUS.get(rule.category)
        if status is None:
            return None  # "recommended" is a hint, not a status
        identity, who = self._csaf_identity(item, rule)
        if identity is False:
            return None
        spec = _csaf_spec(rule)
        if spec is None:
            verdict, why = True, "no version given: the whole product"
        else:
            verdict, why = spec.contains(item.version)
        if verdict is False:
            return None
        reason = f"{rule.product_id} {rule.category}: {who}; {why}"
        extra = rule.justification if status is Status.NOT_AFFECTED else rule.remediation
        if status in (Status.NOT_AFFECTED, Status.FIXED):
            reason = f"{reason}; {extra}" if extra else reason
        certainty = (
            Certainty.UNCERTAIN if status is Status.UNDER_INVESTIGATION else _certainty(verdict)
        )
        return Evidence(rule.source, rule.advisory, certainty, reason, status)

    # -- JVN -------------------------------------------------------------------------------

    def _evaluate_jvn(self, item: InventoryItem, rule: JvnRule) -> Evidence | None:
        criterion = cpe_or_none(rule.cpe)
        identity: Tri = False
        who = ""
        if criterion is not None:
            for text in item.cpes:
                name = cpe_or_none(text)
                if name is not None and self._cpe_identity(criterion, name):
                    identity, who = True, f"CPE {text} matches {rule.cpe}"
                    break
            if identity is False and (
                self._same(criterion.vendor, item.vendor)
                and self._same(criterion.product, item.product)
            ):
                identity, who = None, f"name matches {rule.cpe} (no CPE on the item)"
        if identity is False and rule.vendor and rule.product:
            if self._same(rule.vendor, item.vendor) and self._same(rule.product, item.product):
                identity, who = None, f"name matches {rule.vendor} {rule.product}"
        if identity is False:
            return None
        if rule.version_texts:
            spec = parse_range(" | ".join(rule.version_texts))
            verdict, why = spec.contains(item.version)
        else:
            verdict, why = None, "JVN lists no affected version"
        if verdict is False:
            return None
        final = verdict if identity is True else _cap(verdict)
        return Evidence(rule.source, rule.advisory, _certainty(final), f"{who}; {why}")

    # -- purl ------------------------------------------------------------------------------

    def _evaluate_purl(self, item: InventoryItem, rule: PurlRule) -> Evidence | None:
        if not item.purl or _purl_key(item.purl) != _purl_key(rule.purl):
            return None
        version = PackageURL.from_string(item.purl).version or item.version
        verdict, why = parse_range(rule.version_range).contains(version)
        if verdict is False:
            return None
        return Evidence(rule.source, rule.advisory, _certainty(verdict), f"purl {item.purl}: {why}")

    # -- VEX -------------------------------------------------------------------------------

    def _evaluate_vex(self, item: InventoryItem, st: VexStatement) -> Evidence | None:
        identity: Tri = False
        if st.purl and item.purl and _purl_key(st.purl) == _purl_key(item.purl):
            identity = True
        elif st.cpe and (criterion := cpe_or_none(st.cpe)) is not None:
            for text in item.cpes:
                name = cpe_or_none(text)
                if name is not None and self._cpe_identity(criterion, name):
                    identity = True
        if identity is False and st.vendor and st.product:
            identity = self._same(st.vendor, item.vendor) and self._same(st.product, item.product)
        if identity is False:
            return None
        if st.versions:
            verdict, why = parse_range(st.versions).contains(item.version)
        else:
            verdict, why = True, "all versions"
        if verdict is False:
            return None
        text = st.justification or st.statement or ""
        reason = f"{st.author or 'manufacturer'} says {st.status.value} ({why})"
        reason = f"{reason}: {text}" if text else reason
        certainty = (
            _certainty(verdict)
            if st.status is not Status.UNDER_INVESTIGATION
            else Certainty.UNCERTAIN
        )
        return Evidence(Source.VEX, st.document, certainty, reason, st.status)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while matching, restoring it as it was.

    With a few hundred thousand rules loaded, each collection the matcher's allocations trigger
    rescans them all: that was half the run time at 400,000 vulnerabilities. Nothing the
    matcher makes forms a reference cycle, so pausing frees nothing later than it would be.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _identity(item: InventoryItem) -> tuple[object, ...]:
    """The fields a verdict depends on: items equal in these get the same findings."""
    return (
        item.vendor,
        item.product,
        item.version,
        item.cpes,
        item.purl,
        item.model_numbers,
        item.hardware,
        item.kind,
    )


def _model_match(pattern: str, model: str) -> bool:
    """CSAF model numbers: ``?`` one character, ``*`` any run, ``\\`` escapes."""
    escaped = pattern.replace("[", "[[]").replace("\\*", "[*]").replace("\\?", "[?]")
    return fnmatch.fnmatchcase(model.casefold(), escaped.casefold())


def _csaf_spec(rule: CsafProductRule) -> VersionSpec | None:
    """The version set of a CSAF product for its status category.

    For a single ``product_version`` the boundary categories widen it: first_affected and
    first_fixed mean "this version and later", last_affected "this version and earlier".
    """
    if rule.version_range:
        return parse_range(rule.version_range)
    if not rule.version:
        return None
    if rule.category in {"first_affected", "first_fixed"}:
        return parse_range(f">= {rule.version}")
    if rule.category == "last_affected":
        return parse_range(f"<= {rule.version}")
    return parse_range(rule.version)
