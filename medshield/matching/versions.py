"""Tolerant version comparison and version-range parsing.

Every comparison answers with three values: ``True``, ``False`` or ``None``. ``None`` means
"cannot be decided" (an unparseable version, two different version schemes, a date where a version
was expected) and becomes an *uncertain* finding: a wrong "not affected" can leave a
patient-connected device exposed, so the engine never guesses either way.

Why a hand-written parser next to univers: univers parses ``vers:`` strings and knows the ordering
of package ecosystems (pypi, npm, maven...), and it is used for exactly that. The ranges in CISA's
medical advisories and JVN are free text ("2.3.6 and  below", "<=N", ">= v20D29 | <= v20D32",
"4.X | 5.X", "v6 R4 およびそれ以前") and device firmware versions follow no ecosystem
("BT03", "R4.1L1", "012U000061"); univers would either reject them or silently order them by a
scheme they do not follow. The comparator below orders only what it can justify (numeric segments,
equal words, single revision letters) and answers ``None`` for the rest.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from univers.version_range import VersionRange

# univers is imported where a ``vers:`` range is first read, not here: this module is imported
# by every medshield process at start-up (the findings models use the name normaliser), and
# univers with its many schemes costs a twentieth of a second to import.

Tri = bool | None
"""Three-valued truth: True, False, or None for "cannot be decided"."""

Token = int | str

_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_LEADING_V = re.compile(r"^v(?=\d)")
_WILDCARD_TAIL = re.compile(r"^(?P<head>.+?)(?:\.[x*])+$", re.IGNORECASE)


# Cached: a fleet compares the same few thousand component versions with the same bounds
# millions of times, and both functions are pure (str in, immutable value out).
@lru_cache(maxsize=1 << 17)
def _clean(text: str) -> str:
    """NFKC (full-width digits and letters), casefold, and collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=1 << 17)
def tokenize(version: str) -> tuple[Token, ...]:
    """Split a version into numeric and alphabetic segments; separators carry no meaning.

    A leading ``v`` before a digit ("v8.2", "V20D29") is dropped: vendors write it inconsistently.
    """
    text = _LEADING_V.sub("", _clean(version))
    return tuple(int(t) if t.isdigit() else t for t in _TOKEN.findall(text))


def compare_versions(a: str, b: str) -> int | None:
    """Compare two version strings: -1, 0 or 1, or None when the order cannot be decided."""
    if _clean(a) == _clean(b):
        return 0
    return _compare_tokens(tokenize(a), tokenize(b))


def _compare_tokens(ta: tuple[Token, ...], tb: tuple[Token, ...]) -> int | None:
    if not ta or not tb:
        return None
    for x, y in zip(ta, tb, strict=False):
        if isinstance(x, int) and isinstance(y, int):
            if x != y:
                return -1 if x < y else 1
        elif isinstance(x, str) and isinstance(y, str):
            if x == y:
                continue
            # Single letters are revision letters (Philips "B.02" < "C.02", "<=N"); longer words
            # are names ("sv" vs "hd", "build" vs "mr") whose order nobody defined.
            if len(x) == 1 and len(y) == 1:
                return -1 if x < y else 1
            return None
        else:
            return None  # a number against a word: two schemes
    rest_a, rest_b = ta[len(tb) :], tb[len(ta) :]
    rest = rest_a or rest_b
    if not rest:
        return 0
    if all(isinstance(t, int) for t in rest):
        # "1.2" vs "1.2.0" are the same release; "1.2" vs "1.2.1" is older.
        if all(t == 0 for t in rest):
            return 0
        return 1 if rest_a else -1
    # A trailing word ("1.3.1 Build 13", "1.0-rc1", "R4.1L1") may mean a later build or a
    # pre-release: undecidable.
    return None


def next_version(version: str) -> str | None:
    """The version right after ``version`` by its last numeric segment ("12.1.3" -> "12.1.4").

    Used by tests and callers that need "the first version outside ``<= X``". None when the version
    has no numeric segment.
    """
    matches = list(re.finditer(r"\d+", version))
    if not matches:
        return None
    match = matches[-1]
    digits = match.group()
    bumped = str(int(digits) + 1).zfill(len(digits))
    return version[: match.start()] + bumped + version[match.end() :]


# ---------------------------------------------------------------------------------------------
# Range alternatives


@dataclass(frozen=True)
class AnyVersion:
    """Every version ("all versions", ``vers:all/*``)."""

    def contains(self, version: str) -> tuple[Tri, str]:
        return True, "all versions are affected"


@dataclass(frozen=True)
class ExactVersion:
    """One version, compared segment by segment."""

    version: str

    def contains(self, version: str) -> tuple[Tri, str]:
        cmp = compare_versions(version, self.version)
        if cmp is None:
            return None, f"cannot compare {version!r} with {self.version!r}"
        return cmp == 0, f"{version!r} {'==' if cmp == 0 else '!='} {self.version!r}"


@dataclass(frozen=True)
class PrefixVersion:
    """A wildcard release line ("4.x", "5.x.x", "2.X", "1.*")."""

    prefix: str

    def contains(self, version: str) -> tuple[Tri, str]:
        want, have = tokenize(self.prefix), tokenize(version)
        if not want or not have:
            return None, f"cannot compare {version!r} with {self.prefix}.x"
        cmp = _compare_tokens(have[: len(want)], want)
        if cmp is None:
            return None, f"cannot compare {version!r} with {self.prefix}.x"
        return cmp == 0 and len(have) >= len(want), f"{version!r} in {self.prefix}.x: {cmp == 0}"


@dataclass(frozen=True)
class Interval:
    """A bounded or half-open interval; a missing bound is open."""

    lower: str | None = None
    lower_inclusive: bool = True
    upper: str | None = None
    upper_inclusive: bool = False

    def describe(self) -> str:
        parts = []
        if self.lower is not None:
            parts.append(f"{'>=' if self.lower_inclusive else '>'} {self.lower}")
        if self.upper is not None:
            parts.append(f"{'<=' if self.upper_inclusive else '<'} {self.upper}")
        return " and ".join(parts) or "any"

    def verdict(self, version: str) -> Tri:
        """Whether ``version`` is inside, without the reason (the matcher's hot path)."""
        lower: Tri = True
        if self.lower is not None:
            cmp = compare_versions(version, self.lower)
            if cmp is None:
                lower = None
            elif not (cmp >= 0 if self.lower_inclusive else cmp > 0):
                return False
        upper: Tri = True
        if self.upper is not None:
            cmp = compare_versions(version, self.upper)
            if cmp is None:
                upper = None
            elif not (cmp <= 0 if self.upper_inclusive else cmp < 0):
                return False
        return True if lower is True and upper is True else None

    def contains(self, version: str) -> tuple[Tri, str]:
        verdict = self.verdict(version)
        if verdict is None:
            return None, f"cannot compare {version!r} with {self.describe()}"
        return verdict, f"{version!r} {'satisfies' if verdict else 'is outside'} {self.describe()}"


@dataclass(frozen=True)
class UniversRange:
    """A ``vers:`` range of a package ecosystem, compared with that ecosystem's own rules."""

    vers: str

    def contains(self, version: str) -> tuple[Tri, str]:
        from univers.versions import InvalidVersion

        vrange = _univers_range(self.vers)
        try:
            verdict = vrange.version_class(version) in vrange
        except (InvalidVersion, ValueError, TypeError):
            return None, f"{version!r} is not a valid {vrange.scheme} version for {self.vers}"
        return bool(verdict), f"{version!r} {'in' if verdict else 'not in'} {self.vers}"


@dataclass(frozen=True)
class Unparsed:
    """Text that is not a range we understand: every comparison is undecidable."""

    text: str

    def contains(self, version: str) -> tuple[Tri, str]:
        return None, f"range text {self.text!r} cannot be compared with {version!r}"


@lru_cache(maxsize=4096)
def _univers_range(vers: str) -> VersionRange:
    from univers.version_range import VersionRange

    return VersionRange.from_string(vers)


Alternative = AnyVersion | ExactVersion | PrefixVersion | Interval | UniversRange | Unparsed


def tri_any(values: list[Tri]) -> Tri:
    """Kleene OR."""
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def tri_all(values: list[Tri]) -> Tri:
    """Kleene AND (an empty list is True)."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


@dataclass(frozen=True)
class VersionSpec:
    """A union of alternatives, as parsed from one range text."""

    text: str
    alternatives: tuple[Alternative, ...]

    def contains(self, version: str | None) -> tuple[Tri, str]:
        """Whether ``version`` is in the range, and the comparison that decided it."""
        if all(isinstance(a, AnyVersion) for a in self.alternatives):
            return True, f"{self.text!r} covers all versions"
        if version is None or not version.strip() or version.strip() in {"*", "-"}:
            return None, f"no version known to compare with {self.text!r}"
        verdicts = [alt.contains(version) for alt in self.alternatives]
        for verdict, why in verdicts:
            if verdict is True:
                return True, f"{why} (range {self.text!r})"
        if all(v is False for v, _ in verdicts):
            return False, f"{version!r} is outside {self.text!r}"
        unsure = "; ".join(why for v, why in verdicts if v is None)
        return None, f"{unsure} (range {self.text!r})"


# ---------------------------------------------------------------------------------------------
# Parser

_ALL = re.compile(
    r"^(?:all(?: versions?)?|any|\*|すべてのバージョン|全てのバージョン|全バージョン)$"
)
_OP = re.compile(r"^(<=|>=|=<|=>|<|>|==|=)\s*(.+)$")
_SUFFIX_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Japanese (JVN): "以前" = up to and including, "未満" = below, "以降"/"以上" = from, inclusive.
    (
        re.compile(r"^(.+?)\s*(?:および|及び)?(?:それ)?以前(?:の(?:全ての|すべての)?バージョン)?$"),
        "<=",
    ),
    (re.compile(r"^(.+?)\s*までの(?:全ての|すべての)?バージョン$"), "<="),
    (re.compile(r"^(.+?)\s*未満(?:の(?:全ての|すべての)?バージョン)?$"), "<"),
    (re.compile(r"^(.+?)\s*より前(?:の(?:全ての|すべての)?バージョン)?$"), "<"),
    (
        re.compile(
            r"^(.+?)\s*(?:および|及び)?(?:それ)?(?:以降|以上)(?:の(?:全ての|すべての)?バージョン)?$"
        ),
        ">=",
    ),
    # English free text of CISA advisories.
    (re.compile(r"^(.+?)\s+(?:and|or)\s+(?:below|earlier|prior|older|lower)$"), "<="),
    (re.compile(r"^(.+?)\s+(?:and|or)\s+(?:above|later|newer|higher)$"), ">="),
)
_PREFIX_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^(?:all\s+)?(?:versions?\s+)?(?:prior\s+to|before|below|older\s+than|earlier\s+than)\s+(.+)$"
        ),
        "<",
    ),
    (
        re.compile(
            r"^(?:all\s+)?(?:versions?\s+)?(?:up\s+to\s+(?:and\s+including\s+)?|through)\s+(.+)$"
        ),
        "<=",
    ),
    (re.compile(r"^(?:all\s+)?(?:versions?\s+)?(?:from|since|after)\s+(.+)$"), ">="),
)
_PAIR = re.compile(r"^([^<>=\s]+)\s*<\s*([^<>=\s]+)$")  # "A10 < A11": from A10, before A11


@lru_cache(maxsize=65536)
def parse_range(text: str) -> VersionSpec:
    """Parse a free-text or ``vers:`` range into a :class:`VersionSpec`; never raises.

    Cached: the same few thousand range texts are evaluated against every item of the fleet, and
    the result is immutable.

    CISA separates alternatives with ``|``, but ``>= 1.0.0 | <= 1.3.1`` is one interval: a lower
    bound followed by an upper bound is joined, as in ``vers`` itself.
    """
    clean = _clean(text)
    if clean.startswith("vers:"):
        return VersionSpec(text, (_parse_vers(clean),))
    if re.search(r"\([^)]*\|", clean):
        # "v6.x (with Wireless Battery Modules v9 | v11 ...)": the alternatives inside the
        # parentheses qualify another component, not this product's version.
        return VersionSpec(text, (Unparsed(text),))
    parts = [p.strip() for p in re.split(r"\s*[|、]\s*", clean) if p.strip()]
    parsed = [_parse_part(p) for p in parts] or [Unparsed(text)]
    joined: list[Alternative] = []
    for alt in parsed:
        prev = joined[-1] if joined else None
        if (
            isinstance(prev, Interval)
            and isinstance(alt, Interval)
            and prev.upper is None
            and prev.lower is not None
            and alt.lower is None
            and alt.upper is not None
        ):
            joined[-1] = Interval(prev.lower, prev.lower_inclusive, alt.upper, alt.upper_inclusive)
        else:
            joined.append(alt)
    return VersionSpec(text, tuple(joined))


#: a version that is its own clean form and one ``=`` bound (see :func:`exact_version`)
_PLAIN_VERSION = re.compile(r"[0-9a-z][0-9a-z._-]*")


def exact_version(version: str) -> VersionSpec:
    """What ``parse_range(f"={version}")`` makes, without running the parser on a plain version.

    A CPE name's version (an NVD range without bounds) is nearly always plain: lower-case letters,
    digits, dots, dashes and underscores, starting with a letter or a digit. Such text is its own
    clean form, holds no separator and no operator, so the parser would make this one
    :class:`ExactVersion`; anything else goes through the parser.
    """
    if _PLAIN_VERSION.fullmatch(version):
        return VersionSpec(f"={version}", (ExactVersion(version),))
    return parse_range(f"={version}")


def _parse_vers(clean: str) -> Alternative:
    from univers.version_range import RANGE_CLASS_BY_SCHEMES, AllVersionRange, VersionRange

    try:
        vrange = VersionRange.from_string(clean)
    except Exception:  # univers raises many exception types for bad input; all mean "unparsed"
        return Unparsed(clean)
    if isinstance(vrange, AllVersionRange):
        return AnyVersion()
    scheme = clean[len("vers:") :].split("/", 1)[0]
    if scheme in RANGE_CLASS_BY_SCHEMES and scheme != "generic":
        return UniversRange(clean)
    # "generic" in univers means semver, which rejects device versions like "BT03"; re-read the
    # constraints with the tolerant comparator instead.
    return parse_range(" | ".join(f"{c.comparator}{c.version.string}" for c in vrange.constraints))


def _parse_part(part: str) -> Alternative:
    part = part.strip().strip("()").strip()
    if _ALL.match(part):
        return AnyVersion()
    op_match = _OP.match(part)
    if op_match:
        return _bound(op_match.group(1), op_match.group(2))
    pair = _PAIR.match(part)
    if pair:
        return Interval(pair.group(1), True, pair.group(2), False)
    for pattern, op in _SUFFIX_RULES + _PREFIX_RULES:
        m = pattern.match(part)
        if m:
            return _bound(op, m.group(1))
    wild = _WILDCARD_TAIL.match(part)
    if wild and wild.group("head") and tokenize(wild.group("head")):
        return PrefixVersion(wild.group("head").rstrip(". "))
    if re.search(r"[<>=]", part):
        return Unparsed(part)
    return ExactVersion(part)


def _bound(op: str, version: str) -> Alternative:
    version = version.strip()
    if not tokenize(version):
        return Unparsed(f"{op}{version}")
    op = {"=<": "<=", "=>": ">=", "==": "="}.get(op, op)
    if op == "=":
        return ExactVersion(version)
    if op in {"<", "<="}:
        return Interval(upper=version, upper_inclusive=op == "<=")
    return Interval(lower=version, lower_inclusive=op == ">=")
