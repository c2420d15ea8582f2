"""Reading NVD CVE API 2.0 JSON fast, in bounded memory: the records as typed structs.

The file is read as bytes in pieces of about :data:`CHUNK` and each piece of whole records is
decoded at once by msgspec into the :class:`Cve` structs below, which name only the fields the
importer stores: everything else (references, CVSS details, match ids) is skipped by the C
decoder without building a Python object. That is what makes the import fast; JSON decoding was
most of its time with the standard library.

A piece ends where the text ``}, {"cve":`` marks the start of the next record. That guess is
checked, not trusted: the piece is decoded as ``[piece]``, which only succeeds when the piece is
a complete list of values, i.e. the cut was between two records of the array. In valid JSON the
marker cannot be inside a string (its quote would close the string and the next token would be
a bare word), so a wrong guess means a nested object with a "cve" key or a malformed file; both
fall back to the exact reader (the standard library's decoder, one value at a time), which
reads the rest of the file and names any error. The last record of the file, the text around
the array and files of any other layout are read by the exact reader too.

A record whose fields have the wrong JSON type for NVD's schema (a list where an object
belongs...) is refused with msgspec's message, which names the field.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import msgspec
from django.utils.translation import gettext as _

from medshield.vulns.importers.base import FeedFile, FeedRejected

#: bytes read and decoded at a time
CHUNK = 4 << 20
#: the largest a single record (or any other top-level value) may be; NVD's largest are ~1 MB
MAX_VALUE = 64 << 20
#: how far into the file the records array must start for the fast path (NVD: ~200 bytes)
_HEAD = 1 << 20

# gc=False: these structs never form cycles, and leaving them out of the collector's lists
# halves the decoding time of a feed.
_STRUCT = {"gc": False}


class Description(msgspec.Struct, **_STRUCT):
    lang: Any = None
    value: Any = None


class CvssData(msgspec.Struct, **_STRUCT):
    vectorString: Any = None
    baseScore: Any = None
    baseSeverity: Any = None


class Metric(msgspec.Struct, **_STRUCT):
    type: Any = None
    cvssData: CvssData | None = None


class Metrics(msgspec.Struct, **_STRUCT):
    cvssMetricV31: list[Metric] = []
    cvssMetricV30: list[Metric] = []
    cvssMetricV40: list[Metric] = []


class Weakness(msgspec.Struct, **_STRUCT):
    description: list[Description] = []


# The configurations are typed exactly (a wrong type refuses the file, naming the field) and
# leave out default values when encoded (false/true flags; not a decoded "OR", as msgspec
# compares by identity): the importer stores them re-encoded as they were decoded, which is
# NVD's own JSON without the fields the matcher does not read
# (see medshield.vulns.models.NvdConfigurations).
_CONFIG_STRUCT = {"gc": False, "omit_defaults": True}


class Match(msgspec.Struct, **_CONFIG_STRUCT):
    criteria: str = ""
    vulnerable: bool = True
    versionStartIncluding: str | None = None
    versionStartExcluding: str | None = None
    versionEndIncluding: str | None = None
    versionEndExcluding: str | None = None


class Node(msgspec.Struct, **_CONFIG_STRUCT):
    operator: str = "OR"
    negate: bool = False
    cpeMatch: list[Match] = []


class Configuration(msgspec.Struct, **_CONFIG_STRUCT):
    operator: str = "OR"
    negate: bool = False
    nodes: list[Node] = []


class AffectedData(msgspec.Struct, **_STRUCT):
    vendor: Any = None
    product: Any = None
    versions: list[Any] = []


class Affected(msgspec.Struct, **_STRUCT):
    affectedData: list[AffectedData] = []


class Cve(msgspec.Struct, **_STRUCT):
    """The fields of an NVD ``cve`` object the importer stores."""

    id: Any = None
    published: Any = None
    lastModified: Any = None
    vulnStatus: Any = None
    descriptions: list[Description] = []
    metrics: Metrics | None = None
    weaknesses: list[Weakness] = []
    configurations: list[Configuration] = []
    affected: list[Affected] = []


class Item(msgspec.Struct, **_STRUCT):
    """An entry of the ``vulnerabilities`` array."""

    cve: Cve | None = None


_PIECE = msgspec.json.Decoder(list[Item])
_ARRAY = re.compile(rb'"vulnerabilities"\s*:\s*\[')
_BOUNDARY = re.compile(rb'\}\s*,\s*(?=\{\s*"cve"\s*:)')
_SPACE_BYTES = re.compile(rb"[ \t\n\r]*")


class Malformed(Exception):
    """The JSON text is not well formed or ends early."""


def records(feed: FeedFile, wrapped: bool) -> Iterator[list[Cve | None]]:
    """The ``cve`` objects of the file in lists (None for an entry without one)."""
    if not wrapped:
        reader = JSONStream(feed.stream)
        yield [_convert(reader.value(), Cve, 0)]
        if reader.peek():
            raise Malformed("trailing data after the JSON value")
        return
    yield from _Pieces(feed.stream).read()


def _convert(value: Any, kind: type[Any], index: int) -> Any:
    """A value the exact reader parsed, as the struct the fast path would have decoded."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise _wrong_type(exc, index) from None


def _wrong_type(exc: msgspec.ValidationError, first: int) -> FeedRejected:
    """msgspec's message, with the piece's index (``$[3]``) made the record number in the file."""
    message = str(exc)
    found = re.search(r"\$\[(\d+)\]", message)
    number = first + (int(found.group(1)) if found else 0) + 1
    message = re.sub(r"\$(\[\d+\])?\.?", "", message)
    return FeedRejected(
        _("record {n}: a field has the wrong type for an NVD record ({error})").format(
            n=number, error=message[:300]
        )
    )


class _Pieces:
    """The fast path: pieces of whole records decoded by msgspec, the rest by the exact reader."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.count = 0  # records yielded so far, to number them in messages

    def _fill(self, want: int) -> None:
        """Read until ``want`` bytes past pos are buffered or the file ends."""
        while not self.eof and len(self.buf) - self.pos < want:
            pending = len(self.buf) - self.pos
            if pending > MAX_VALUE:
                raise FeedRejected(
                    _("a value of the JSON is larger than {mb} MB; refused").format(
                        mb=MAX_VALUE >> 20
                    )
                )
            data = self.stream.read(max(CHUNK, want - pending))
            self.eof = not data
            self.buf = self.buf[self.pos :] + data
            self.pos = 0

    def read(self) -> Iterator[list[Cve | None]]:
        self._fill(_HEAD)
        found = _ARRAY.search(self.buf, 0, _HEAD)
        if found is None or not _is_object_head(self.buf[: found.start()]):
            yield from self._exact(_items)
            return
        self.pos = found.end()
        window = CHUNK
        while True:
            self._fill(window)
            self.pos = _SPACE_BYTES.match(self.buf, self.pos).end()
            end = min(len(self.buf), self.pos + window)
            cut = _last_boundary(self.buf, self.pos, end)
            if cut is None:
                if self.eof or window >= MAX_VALUE:
                    # No marker left: the last record (or an unusual layout) is read exactly.
                    yield from self._exact(_rest_of_array)
                    return
                window *= 2  # a record longer than the window: read on
                continue
            window = CHUNK
            piece = self.buf[self.pos : cut + 1]
            try:
                items = _PIECE.decode(b"[" + piece + b"]")
            except msgspec.ValidationError as exc:
                raise _wrong_type(exc, self.count) from None
            except msgspec.DecodeError:
                # A nested "cve" key or a malformed file: the exact reader knows which.
                yield from self._exact(_rest_of_array)
                return
            except RecursionError:
                raise _too_deep() from None
            self.count += len(items)
            self.pos = _BOUNDARY.match(self.buf, cut).end()
            yield [item.cve for item in items]

    def _exact(self, parse: Any) -> Iterator[list[Cve | None]]:
        """The rest of the file from pos, parsed by ``parse`` with the exact reader."""
        reader = JSONStream(_Chained(self.buf[self.pos :], self.stream))
        self.buf = b""
        for item in parse(reader):
            if not isinstance(item, dict):
                raise FeedRejected(_("an entry of 'vulnerabilities' is not an object"))
            yield [_convert(item, Item, self.count).cve]
            self.count += 1
        if reader.peek():
            raise Malformed("trailing data after the JSON value")


def _is_object_head(head: bytes) -> bool:
    """Whether ``head`` is the start of the top-level object up to a member (``{"a": 1,``)."""
    head = head.rstrip()
    if head.endswith(b","):
        head = head[:-1]
    try:
        return isinstance(msgspec.json.decode(head + b"}"), dict)
    except (msgspec.DecodeError, RecursionError):
        return False


def _last_boundary(buf: bytes, start: int, end: int) -> int | None:
    """The position of the ``}`` that ends the last whole record before ``end``, if any."""
    step = 1 << 16
    low = max(start, end - step)
    while True:
        last = None
        for last in _BOUNDARY.finditer(buf, low, end):  # noqa: B007 - the last one is wanted
            pass
        if last is not None:
            return last.start()
        if low == start:
            return None
        end = low + 64  # the marker may straddle the edge of the part searched
        low = max(start, low - step)
        step *= 4


def _too_deep() -> FeedRejected:
    return FeedRejected(_("a record nests deeper than any NVD record; refused"))


class _Chained(io.RawIOBase):
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.stream.read(size)


# --- the exact reader ---------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
_NUMBERS = (int, float)


class JSONStream:
    """A JSON text read in chunks, each top-level value or record parsed whole by ``json``.

    The C decoder of the standard library's own recursion limit (about a thousand levels)
    bounds the nesting: a deeper value raises RecursionError at once.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.scan = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> bool:
        """Read more text; False at the end of the file."""
        if self.eof:
            return False
        pending = len(self.buf) - self.pos
        if pending > MAX_VALUE:
            raise FeedRejected(
                _("a value of the JSON is larger than {mb} MB; refused").format(mb=MAX_VALUE >> 20)
            )
        data = self.stream.read(max(CHUNK, pending))
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise FeedRejected(_("the file is not UTF-8 text")) from None
        self.eof = not data
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            raise Malformed(f"expected {chars!r} at {char!r}" if char else "unexpected end")
        self.pos += 1
        return char

    def value(self) -> Any:
        """The next value, parsed whole."""
        if not self.peek():
            raise Malformed("unexpected end")
        while True:
            try:
                value, end = self.scan(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Only an error at the end of the text read may be a value cut by the read; an
                # error before it is the file's, and is reported without reading on.
                if _cut_short(exc, len(self.buf)) and self._fill():
                    continue
                raise Malformed(str(exc)) from None
            except RecursionError:
                raise _too_deep() from None
            # A number followed by nothing but number characters up to the end of the text read
            # ("1" of "12", "1" of "1.5") may go on in the next read: read on and parse again.
            if type(value) in _NUMBERS and _NUMBER_TAIL.fullmatch(self.buf, end) and self._fill():
                continue
            self.pos = end
            return value


def _cut_short(error: json.JSONDecodeError, length: int) -> bool:
    """Whether ``error`` may come from a value that goes on after the ``length`` read so far.

    The decoder reports a string without its closing quote at the string's start, and every
    other cut (in a number, a word, a ``\\u`` escape, between values) within a few characters
    of the end.
    """
    return error.pos >= length - 16 or error.msg.startswith("Unterminated string")


def _items(reader: JSONStream) -> Iterator[Any]:
    """The items of the top-level ``vulnerabilities`` array (of every one, as ijson would)."""
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
        return
    yield from _members(reader)


def _members(reader: JSONStream) -> Iterator[Any]:
    """The rest of the top-level object from a key on."""
    while True:
        if reader.peek() != '"':
            reader.expect('"')
        key = reader.value()
        reader.expect(":")
        if key == "vulnerabilities" and reader.peek() == "[":
            reader.pos += 1
            yield from _array(reader)
        else:
            reader.value()
        if reader.expect(",}") == "}":
            return


def _array(reader: JSONStream) -> Iterator[Any]:
    """The items of an array whose ``[`` was read, up to and with its ``]``."""
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        if reader.expect(",]") == "]":
            return


def _rest_of_array(reader: JSONStream) -> Iterator[Any]:
    """From a record of the ``vulnerabilities`` array on: its items, then the rest of the file."""
    yield from _array(reader)
    if reader.expect(",}") == ",":
        yield from _members(reader)
