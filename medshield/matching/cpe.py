"""CPE names: 2.3 formatted strings (NVD, CSAF helpers) and 2.2 URIs (JVN), into one value type.

Parsing is tolerant because real data is not clean: the official SPDX 2.3 example carries a CPE 2.3
string with too few fields, JVN percent-encodes punctuation, and NVD escapes with backslashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

ANY = "*"
NA = "-"

_FIELDS = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)


class CpeError(ValueError):
    """The text is not a CPE name in either binding."""


@dataclass(frozen=True)
class Cpe:
    """A CPE name as its attribute values (unescaped; ``*`` = ANY, ``-`` = NA)."""

    part: str = ANY
    vendor: str = ANY
    product: str = ANY
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def to_fs(self) -> str:
        """The CPE 2.3 formatted string, escaping what the binding requires."""
        return "cpe:2.3:" + ":".join(_escape(getattr(self, f)) for f in _FIELDS)

    def __str__(self) -> str:
        return self.to_fs()

    @property
    def has_version(self) -> bool:
        return self.version not in {ANY, NA, ""}


def _split_fs(body: str) -> list[str]:
    """Split on unescaped colons, keeping escapes for the unescape step."""
    out, cur, i = [], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cur.append(body[i : i + 2])
            i += 2
            continue
        if ch == ":":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(value: str) -> str:
    if value in {ANY, NA}:
        return value
    if "\\" not in value:
        return value.lower()
    return re.sub(r"\\(.)", r"\1", value).lower()


def _escape(value: str) -> str:
    if value in {ANY, NA}:
        return value
    return re.sub(r"([^A-Za-z0-9_.\-])", r"\\\1", value)


def parse_cpe23(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string; missing trailing fields are ANY."""
    if not text.lower().startswith("cpe:2.3:"):
        raise CpeError(f"not a CPE 2.3 formatted string: {text!r}")
    body = text[len("cpe:2.3:") :]
    # Most names escape nothing; a plain split is then the same as the escape-aware one, and
    # unescaping is lower-casing ("*" and "-" are their own lower case).
    plain = "\\" not in body
    values = body.split(":") if plain else _split_fs(body)
    if len(values) > len(_FIELDS) or not values[0]:
        raise CpeError(f"malformed CPE 2.3 string: {text!r}")
    if plain:
        values = [v.lower() if v else ANY for v in values]
    else:
        values = [_unescape(v) if v else ANY for v in values]
    values += [ANY] * (len(_FIELDS) - len(values))
    return Cpe(*values)


def parse_cpe22(text: str) -> Cpe:
    """Parse a CPE 2.2 URI (``cpe:/a:vendor:product:version:update:edition:language``).

    Percent-encoding is decoded; a packed edition (``~edition~sw_edition~target_sw~...``) is
    unpacked as CPE 2.3 specifies. An empty component means ANY in the URI binding.
    """
    if not text.lower().startswith("cpe:/"):
        raise CpeError(f"not a CPE 2.2 URI: {text!r}")
    comps = text[len("cpe:/") :].split(":")
    if len(comps) > 7 or not comps[0]:
        raise CpeError(f"malformed CPE 2.2 URI: {text!r}")
    comps += [""] * (7 - len(comps))

    def val(raw: str) -> str:
        if raw == "":
            return ANY
        if raw == NA:
            return NA
        return unquote(raw).lower()

    part, vendor, product, version, update, edition, language = comps
    sw_edition = target_sw = target_hw = other = ANY
    if edition.startswith("~"):
        packed = (edition[1:].split("~") + [""] * 5)[:5]
        edition, sw_edition, target_sw, target_hw, other = (val(p) for p in packed)
    else:
        edition = val(edition)
    return Cpe(
        val(part), val(vendor), val(product), val(version), val(update), edition,
        val(language), sw_edition, target_sw, target_hw, other,
    )  # fmt: skip


def parse_cpe(text: str) -> Cpe:
    """Parse either binding."""
    text = text.strip()
    if text.lower().startswith("cpe:2.3:"):
        return parse_cpe23(text)
    return parse_cpe22(text)


def vendor_product(text: str) -> tuple[str, str] | None:
    """The vendor and product of a CPE name exactly as :func:`parse_cpe` reads them, or None.

    Indexing an NVD-sized data set needs only these two of the eleven attributes of millions
    of names; for a 2.3 string without escapes they are two fields of a plain split.
    """
    text = text.strip()
    if text[:8].lower() == "cpe:2.3:" and "\\" not in text:
        values = text[8:].split(":")
        if len(values) > len(_FIELDS) or not values[0]:
            return None
        vendor = values[1].lower() if len(values) > 1 and values[1] else ANY
        product = values[2].lower() if len(values) > 2 and values[2] else ANY
        return vendor, product
    try:
        cpe = parse_cpe(text)
    except CpeError:
        return None
    return cpe.vendor, cpe.product


def _attr_match(criterion: str, value: str) -> bool | None:
    """NISTIR 7696 attribute comparison reduced to "does value satisfy criterion".

    True: equal, or the criterion is ANY. False: disjoint. Wildcards ``*``/``?`` at the ends of a
    criterion value are honoured. None is never returned here; versions are compared elsewhere.
    """
    if criterion == ANY:
        return True
    if value == ANY:
        # The item does not say (e.g. an SBOM CPE with "*" edition): it does not contradict.
        return True
    if criterion == NA or value == NA:
        return criterion == value
    if "*" in criterion or "?" in criterion:
        pattern = "^" + re.escape(criterion).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        return re.match(pattern, value) is not None
    return criterion == value


def cpe_identity_matches(criterion: Cpe, name: Cpe) -> bool:
    """Whether every attribute except the version is compatible (part, vendor, product, ...)."""
    return all(
        _attr_match(getattr(criterion, f), getattr(name, f)) for f in _FIELDS if f != "version"
    )
