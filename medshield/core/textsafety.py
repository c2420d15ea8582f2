"""Refuse invisible characters in register text: control characters and bidi overrides.

A register is read on screens, printed, exported to spreadsheets and pasted into tickets. A NUL
truncates values in C tools, an ESC sequence rewrites a terminal, and a right-to-left override
(U+202E) makes ``fdp.exe`` show as ``exe.pdf`` ("Trojan Source"): a name that reads one way
and sorts, searches and matches another. None of them has a place in an asset's name or a room
code, so they are refused at every door (importer, forms, models) with a message that names the
character and where it is, rather than silently stripped.

Tab, line feed and carriage return are allowed in multi-line fields (notes) only.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

#: C0 controls but tab, LF and CR; DEL; C1 controls; bidi embeddings, overrides and isolates
_MULTILINE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: the same plus tab, LF and CR, for one-line values (names, codes, tags)
_SINGLE_LINE_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_NAMES = {
    "\x00": "NUL",
    "\t": "TAB",
    "\n": "LF",
    "\r": "CR",
    "\x1b": "ESC",
    "\x7f": "DEL",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
}


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how a message names an invisible character."""
    code = f"U+{ord(char):04X}"
    name = _NAMES.get(char)
    return f"{code} {name}" if name else code


def find_unsafe(value: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """(1-based position, character) of the first forbidden character in ``value``, or None."""
    pattern = _MULTILINE_FORBIDDEN if multiline else _SINGLE_LINE_FORBIDDEN
    match = pattern.search(value)
    if match is None:
        return None
    return match.start() + 1, match.group()


def unsafe_reason(value: str, *, multiline: bool = False) -> str | None:
    """A translated reason why ``value`` is refused, or None when it is clean."""
    found = find_unsafe(value, multiline=multiline)
    if found is None:
        return None
    position, char = found
    return str(
        _("contains the invisible character {char} at position {position}; remove it").format(
            char=describe(char), position=position
        )
    )


@deconstructible
class SafeTextValidator:
    """A Django validator for model and form fields: ``validators=[SafeTextValidator()]``.

    ``multiline=True`` for free text (notes) where tab and line breaks are legitimate.
    """

    code = "invisible_character"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        reason = unsafe_reason(value, multiline=self.multiline)
        if reason is not None:
            raise ValidationError(reason, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SafeTextValidator) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((SafeTextValidator, self.multiline))


validate_single_line = SafeTextValidator()
validate_multiline = SafeTextValidator(multiline=True)
