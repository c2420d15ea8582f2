"""Vendor and product name normalisation and the user-extendable alias table.

CISA's medical advisories carry no CPE or purl, only names, and the same maker is spelled many
ways ("GE Healthcare", "GE HealthCare", "General Electric (GE)", full-width "ＧＥ" in a Japanese
register). Names are therefore compared after normalisation and through aliases that a user has
confirmed; an alias is never guessed by the engine.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

# Legal-form words carry no identity; removing them lets "Baxter International Inc." equal
# "Baxter". Only whole words at the end are dropped, so "Co" inside a product name survives.
_CORPORATE_SUFFIXES = (
    "incorporated",
    "inc",
    "corporation",
    "corp",
    "company",
    "co",
    "limited",
    "ltd",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "s a",
    "e v",
    "ev",
    "nv",
    "bv",
    "kk",
    "k k",
    "ab",
    "oy",
    "spa",
    "srl",
    "pty",
    "kabushiki kaisha",
    "株式会社",
    "有限会社",
    "合同会社",
)
_SUFFIX_RE = re.compile(
    r"(?:\s+(?:" + "|".join(re.escape(s) for s in _CORPORATE_SUFFIXES) + r"))+$"
)
_PREFIX_RE = re.compile(r"^(?:株式会社|有限会社|合同会社)\s*")
_PUNCTUATION_RE = re.compile(r"[^\w\s]|_")
_TRAILING_AND_RE = re.compile(r"\s+(?:and|,)$")
# The same for ASCII text (every CPE name), as one str.translate: what the pattern replaces.
_ASCII_PUNCTUATION = {
    n: " " for n in range(128) if chr(n) == "_" or not (chr(n).isalnum() or chr(n).isspace())
}
# The last word of each suffix: a name ending otherwise cannot match _SUFFIX_RE.
_SUFFIX_ENDS = frozenset(s.rsplit(" ", 1)[-1] for s in _CORPORATE_SUFFIXES)


@lru_cache(maxsize=1 << 18)  # NVD names about 100,000 distinct vendors and products
def normalize_name(name: str) -> str:
    """Canonical form of a vendor or product name for equality comparison.

    NFKC folds full-width characters; casefold makes "HealthCare" equal "Healthcare"; punctuation
    and "_" (CPE spelling) become spaces; "&" becomes "and"; corporate suffixes are removed.
    """
    # ASCII text is its own NFKC form and holds no Japanese legal prefix; the patterns are only
    # run where they can change something (a CPE name in under half the time).
    if name.isascii():
        text = name.casefold().replace("&", " and ").replace("+", " plus ")
        text = " ".join(text.translate(_ASCII_PUNCTUATION).split())
    else:
        text = unicodedata.normalize("NFKC", name).casefold()
        text = text.replace("&", " and ").replace("+", " plus ")
        text = " ".join(_PUNCTUATION_RE.sub(" ", text).split())
        text = _PREFIX_RE.sub("", text)
    text = " " + text
    if text.rsplit(" ", 1)[-1] in _SUFFIX_ENDS:
        text = _SUFFIX_RE.sub("", text)
    if text.endswith(("and", ",")):
        text = _TRAILING_AND_RE.sub("", text)  # "Becton, Dickinson and Co." -> "becton dickinson"
    return text.strip()


#: the version of the keys :func:`normal_hash` gives for :func:`normalize_name` forms: a prepared
#: NVD file (``vulns.importers.nvd_prepared``) carries its keys computed on another machine and
#: records this number; raise it whenever either function gives another result for some name
NAME_KEY_SCHEME = 1


def normal_hash(vendor: str, product: str) -> int:
    """A stable 63-bit key of a vendor and product already in :func:`normalize_name` form.

    Stored in the database (``vulns.CpeKey``): it must never change, or stored keys stop
    matching. BLAKE2b, not ``hash()``, which differs between processes.
    """
    digest = hashlib.blake2b(f"{vendor}\x1f{product}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def name_hash(vendor: str, product: str) -> int:
    """The stable 63-bit key of a vendor/product pair after normalisation (:func:`normal_hash`)."""
    return normal_hash(normalize_name(vendor), normalize_name(product))


@dataclass(frozen=True)
class AliasTable:
    """Groups of names that denote the same vendor (or product), as confirmed by a user.

    The table is immutable; :meth:`with_alias` returns an extended copy so the engine can be shared
    between threads while the register adds aliases.
    """

    _canonical: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[str]]) -> AliasTable:
        table = cls()
        for group in groups:
            names = list(group)
            for other in names[1:]:
                table = table.with_alias(names[0], other)
        return table

    def with_alias(self, name: str, alias: str) -> AliasTable:
        """A copy in which ``alias`` denotes the same thing as ``name`` (transitively)."""
        a, b = self.canonical(name), self.canonical(alias)
        if a == b:
            return self
        keep, drop = sorted((a, b))  # deterministic representative
        mapping = {k: (keep if v == drop else v) for k, v in self._canonical.items()}
        mapping[normalize_name(name)] = keep
        mapping[normalize_name(alias)] = keep
        mapping[drop] = keep
        mapping[keep] = keep
        return AliasTable(mapping)

    def canonical(self, name: str) -> str:
        """The representative of the alias group of ``name`` (its normal form if it has none)."""
        norm = normalize_name(name)
        return self._canonical.get(norm, norm)

    def groups(self) -> dict[str, set[str]]:
        """Each representative with the normal forms of every name of its group (itself too).

        Names without aliases are in no group: their only form is their own.
        """
        out: dict[str, set[str]] = {}
        for name, canonical in self._canonical.items():
            out.setdefault(canonical, {canonical}).add(name)
        return out

    def same(self, a: str, b: str) -> bool:
        """Whether two names denote the same vendor/product after normalisation and aliases."""
        return self.canonical(a) == self.canonical(b)

    def __len__(self) -> int:
        return len(self._canonical)


EMPTY_ALIASES = AliasTable()
