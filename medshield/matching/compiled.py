"""The matcher's hot path: NVD configurations compiled once, items viewed once.

Why this exists: a fleet is 300,000 SBOM components against 1.6 million NVD ranges, and the
straightforward evaluation re-parsed the criteria string, re-normalised four names and
re-tokenised both versions for every (item, range) pair. Here each criteria string's
vendor/product is canonicalised once per matcher, each configuration is compiled once (its
vulnerable vendor/product keys as a set), and each item's CPEs and names are canonicalised once
per :meth:`RuleMatcher.match_item`. A configuration none of whose vulnerable ranges names one of
the item's keys is rejected with one set test, which is most of them: a candidate vulnerability
usually names other products too.

A range is compiled in two steps. Its vendor/product keys come first (a plain split of the
criteria string and two cached normalisations); its full CPE name, its bounds interval or exact
version are built only when an item's names reach them (:meth:`CompiledMatch.compile`). Most
ranges of a candidate configuration name another product (the platform, another component) and
are rejected by their keys alone, so for one SBOM most ranges are never parsed at all.

The verdicts and reasons are exactly those of the plain evaluation (tests/matching checks both
paths on the corpus); only reasons that the caller discards (those of ``False`` verdicts) are
no longer formatted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from medshield.matching.cpe import ANY, NA, Cpe, CpeError, _attr_match, parse_cpe, vendor_product
from medshield.matching.model import CpeMatch, InventoryItem, NvdConfiguration
from medshield.matching.names import AliasTable
from medshield.matching.versions import Interval, Tri, VersionSpec, exact_version

#: the canonical vendor and product keys of a criteria string (None: not a CPE name)
Criterion = tuple[str, str] | None

_REST = ("update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other")


@lru_cache(maxsize=65536)
def cpe_or_none(text: str) -> Cpe | None:
    """The parsed CPE name, or None when it is not one (cached: fleets repeat their names)."""
    try:
        return parse_cpe(text)
    except CpeError:
        return None


#: entries per cache of compiled forms before it starts over (bounds a matcher's memory)
CACHE_LIMIT = 1 << 20
#: a name not looked up yet (None is a looked-up answer: the criterion names no product)
_UNSEEN: object = object()


class CriteriaNames:
    """The canonical vendor/product keys of criteria strings under one alias table, cached.

    Without parsing the rest of the name: None exactly when
    :func:`~medshield.matching.cpe.parse_cpe` refuses the string (see
    :func:`~medshield.matching.cpe.vendor_product`). The advisory index and the matcher read the
    same criteria strings (NVD repeats a product's name in each of its ranges); given one
    instance, they canonicalise each name once.
    """

    __slots__ = ("_seen", "aliases")

    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self._seen: dict[str, Criterion] = {}

    def __call__(self, text: str) -> Criterion:
        seen = self._seen.get(text, _UNSEEN)
        if seen is not _UNSEEN:
            return seen  # type: ignore[return-value]
        names = vendor_product(text)
        found = (
            None
            if names is None
            else (self.aliases.canonical(names[0]), self.aliases.canonical(names[1]))
        )
        if len(self._seen) >= CACHE_LIMIT:
            self._seen.clear()
        self._seen[text] = found
        return found


class ItemView:
    """An inventory item with its names canonicalised and its CPEs parsed, once."""

    __slots__ = ("cpes", "has_cpes", "hardware_keys", "item", "keys", "product_key", "vendor_key")

    def __init__(
        self, item: InventoryItem, aliases: AliasTable, parse: Callable[[str], Cpe | None]
    ) -> None:
        canonical = aliases.canonical
        self.item = item
        self.vendor_key = canonical(item.vendor)
        self.product_key = canonical(item.product)
        cpes = []
        for text in item.cpes:
            name = parse(text)
            if name is not None:
                cpes.append((text, name, canonical(name.vendor), canonical(name.product)))
        self.cpes: tuple[tuple[str, Cpe, str, str], ...] = tuple(cpes)
        self.has_cpes = bool(item.cpes)
        self.hardware_keys = tuple(canonical(h) for h in item.hardware)
        # Every (vendor, product) key a range could match this item under: its CPEs', its
        # hardware's, and its own when it has no CPE (match_cpe says False to any other key).
        keys = {(vk, pk) for _, _, vk, pk in cpes}
        keys.update((self.vendor_key, h) for h in self.hardware_keys)
        if not item.cpes:
            keys.add((self.vendor_key, self.product_key))
        self.keys = frozenset(keys)


class CompiledMatch:
    """One cpeMatch entry: its vendor/product keys now, the rest when first needed.

    ``cpe`` is None until :meth:`compile` has parsed the criteria string and built the bounds
    interval (``interval``) or the exact version (``exact``); only ranges whose vendor and
    product an item shares get that far.
    """

    __slots__ = ("cpe", "criterion", "exact", "interval", "match", "rest_any")

    def __init__(self, match: CpeMatch, criterion: Criterion) -> None:
        self.match = match
        self.criterion = criterion
        self.cpe: Cpe | None = None
        self.rest_any = False
        self.interval: Interval | None = None
        self.exact: VersionSpec | None = None

    def compile(self) -> Cpe:
        """Parse the criteria string and build the version test; the parsed name."""
        cpe = cpe_or_none(self.match.criteria)
        assert cpe is not None  # only called for a criterion with keys, which parses
        match = self.match
        self.rest_any = (  # every attribute of _REST, spelled out: this runs per range
            ANY
            == cpe.update
            == cpe.edition
            == cpe.language
            == cpe.sw_edition
            == cpe.target_sw
            == cpe.target_hw
            == cpe.other
        )
        if match.has_bounds:
            self.interval = Interval(
                lower=match.version_start_including or match.version_start_excluding,
                lower_inclusive=match.version_start_excluding is None,
                upper=match.version_end_including or match.version_end_excluding,
                upper_inclusive=match.version_end_excluding is None,
            )
        elif cpe.version not in (ANY, NA):
            self.exact = exact_version(cpe.version)
        self.cpe = cpe
        return cpe


class CompiledRule:
    """An NVD configuration: its nodes as (AND?, negated?, compiled matches) and the keys of
    its vulnerable ranges."""

    __slots__ = ("is_and", "keys", "negate", "nodes", "rule")

    def __init__(self, rule: NvdConfiguration, criterion: Callable[[str], Criterion]) -> None:
        self.rule = rule
        self.is_and = rule.operator.upper() == "AND"
        self.negate = rule.negate
        keys = set()
        nodes = []
        for node in rule.nodes:
            matches = []
            for m in node.matches:
                names = criterion(m.criteria)
                if m.vulnerable and names is not None:
                    keys.add(names)
                matches.append(CompiledMatch(m, names))
            nodes.append((node.operator.upper() == "AND", node.negate, tuple(matches)))
        self.nodes = tuple(nodes)
        self.keys = frozenset(keys)


def _identity(criterion: Cpe, name: Cpe, rest_any: bool) -> bool:
    """The attributes other than vendor, product and version (compared by key beforehand).

    ``rest_any``: the criterion leaves update, edition... all ANY (nearly every NVD range), so
    only the part can differ.
    """
    if not _attr_match(criterion.part, name.part):
        return False
    return rest_any or all(_attr_match(getattr(criterion, f), getattr(name, f)) for f in _REST)


def _version(cm: CompiledMatch, cpe: Cpe, version: str | None) -> tuple[Tri, str]:
    """As RuleMatcher._cpe_version, with the interval prebuilt; no reason for False."""
    interval = cm.interval
    if interval is not None:
        if version is None or version in (ANY, NA):
            return None, f"no version to compare with {interval.describe()}"
        verdict = interval.verdict(version)
        if verdict is False:
            return False, ""
        if verdict is None:
            return None, f"cannot compare {version!r} with {interval.describe()}"
        return True, f"{version!r} satisfies {interval.describe()}"
    if cpe.version == ANY:
        return True, "all versions"
    if cpe.version == NA:
        if cpe.part == "h":
            return True, "hardware (no version)"
        if version == NA:
            return True, "version '-' on both sides"
        return None, f"the rule names no version ('-'), the item has {version!r}"
    if version is None or version in (ANY, NA):
        return None, f"no version to compare with {cpe.version!r}"
    assert cm.exact is not None  # set whenever the criterion has a version
    return cm.exact.contains(version)


def _cap(verdict: Tri) -> Tri:
    return None if verdict is True else verdict


def match_cpe(view: ItemView, cm: CompiledMatch) -> tuple[Tri, str]:
    """The verdict of one cpeMatch entry on one item (see RuleMatcher._match_cpe)."""
    criterion = cm.criterion
    if criterion is None:
        return False, f"unparseable criteria {cm.match.criteria!r}"
    vendor, product = criterion
    for text, name, name_vendor, name_product in view.cpes:
        if name_vendor != vendor or name_product != product:
            continue
        cpe = cm.cpe or cm.compile()
        if not _identity(cpe, name, cm.rest_any):
            continue
        if name.part == "h":
            version = None if name.version == ANY else name.version
        else:
            version = view.item.version if name.version == ANY else name.version
        verdict, why = _version(cm, cpe, version)
        if verdict is False:
            return False, ""
        return verdict, f"{cm.match.criteria} matched CPE {text}: {why}"
    # By name: the item's product, or its hardware for a hardware range (both keys first, so
    # that a range of another product is rejected without parsing it).
    if vendor != view.vendor_key or (
        product != view.product_key and product not in view.hardware_keys
    ):
        return False, ""
    cpe = cm.cpe or cm.compile()
    if cpe.part == "h":
        products = view.hardware_keys + (() if view.has_cpes else (view.product_key,))
    else:
        products = () if view.has_cpes else (view.product_key,)
    if product in products:
        version = None if cpe.part == "h" else view.item.version
        verdict, why = _version(cm, cpe, version)
        verdict = _cap(verdict)
        if verdict is False:
            return False, ""
        return verdict, f"{cm.match.criteria} matched by name only (no CPE): {why}"
    return False, ""


def evaluate_nvd(view: ItemView, compiled: CompiledRule) -> tuple[Tri, str] | None:
    """(verdict, reason) of a configuration on an item, or None when it does not concern it."""
    if compiled.keys.isdisjoint(view.keys):
        return None  # no vulnerable range names this item: nothing can be hit
    results = []
    any_hit = False
    keys = view.keys
    for is_and, negate, matches in compiled.nodes:
        verdicts: list[Tri] = []
        reasons = []
        for cm in matches:
            if cm.criterion not in keys:
                verdicts.append(False)  # another product (or no CPE name): as match_cpe says
                continue
            verdict, why = match_cpe(view, cm)
            verdicts.append(verdict)
            if verdict is not False:
                if why:
                    reasons.append(why)
                if cm.match.vulnerable:
                    any_hit = True
        node_verdict = _all(verdicts) if is_and else _any(verdicts)
        if negate:
            node_verdict = None if node_verdict is None else not node_verdict
            reasons = [f"NOT({'; '.join(reasons) or 'no match'})"]
        results.append((node_verdict, reasons))
    verdicts = [v for v, _ in results]
    verdict = _all(verdicts) if compiled.is_and else _any(verdicts)
    if compiled.negate:
        verdict = None if verdict is None else not verdict
    if verdict is False or not any_hit:
        return None
    joiner = " AND " if compiled.is_and else " OR "
    return verdict, joiner.join("; ".join(r) for _, r in results if r)


def _any(values: list[Tri]) -> Tri:
    if True in values:
        return True
    return False if all(v is False for v in values) else None


def _all(values: list[Tri]) -> Tri:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None
