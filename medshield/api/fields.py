"""Input and output types of the API, derived from the models' own fields.

Every input is bounded before it reaches the database: strings by the column's length and free of
NUL and lone surrogates (which PostgreSQL and SQLite refuse with a server error), integers by the
column's range (SQLite and PostgreSQL overflow otherwise), choices by the model's choice list.
The model's ``full_clean`` then applies the register's own rules.
"""

from __future__ import annotations

import datetime
import ipaddress
import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import AfterValidator, BeforeValidator, Field

#: the largest id a database row can have (a signed 64-bit integer)
MAX_ID = 2**63 - 1
#: bounds of the integer column types, as PostgreSQL enforces them
INT_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": (-32768, 32767),
    "PositiveSmallIntegerField": (0, 32767),
    "IntegerField": (-2147483648, 2147483647),
    "PositiveIntegerField": (0, 2147483647),
    "BigIntegerField": (-(2**63), MAX_ID),
    "PositiveBigIntegerField": (0, MAX_ID),
}


def _database_safe(value: str) -> str:
    """Refuse what no database column can store: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (it holds a lone surrogate)") from None
    return value


#: NUL is refused by this pattern in the schema (so schema readers and schemathesis know it);
#: the validators also refuse lone surrogates, which a pattern cannot express
NO_NUL = r"^[^\x00]*$"


def safe_text(*, min_length: int = 0, max_length: int | None = None, pattern: str = NO_NUL) -> Any:
    """A database-safe string type; the constraints sit on the string itself, so pydantic's
    messages read "at most 100 characters"."""
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, pattern=pattern),
        AfterValidator(_database_safe),
        # runs first, so a NUL gets the plain message rather than "should match pattern"
        BeforeValidator(lambda v: _database_safe(v) if isinstance(v, str) else v),
    ]


SafeStr = safe_text()
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: an asset named in a path, a filter or a reference (unknown ones are 404 or 422 on lookup)
AssetTag = safe_text(min_length=1, max_length=64)
#: the tag of a new asset, by the asset model's own rule (no spaces, none of / \ ? # %).
#: pydantic's (Rust) and OpenAPI's (ECMA) ``$`` is the very end, where the model's Python
#: RegexValidator lets a trailing newline through.
NewAssetTag = safe_text(min_length=1, max_length=64, pattern=r"^[^/\\?#%\s\x00]+$")


def _utc(value: datetime.datetime) -> datetime.datetime:
    """An aware UTC datetime, clamped to what databases store (offsets past +-15:59 and years
    at the edge of the calendar make PostgreSQL and Python fail, not just miss)."""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=timezone.get_current_timezone())
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        edge = datetime.datetime.min if value.year < 2 else datetime.datetime.max
        return edge.replace(tzinfo=datetime.UTC)


#: a datetime filter value, in UTC
UtcDateTime = Annotated[datetime.datetime, AfterValidator(_utc)]


def text(max_length: int | None = None, min_length: int = 0) -> Any:
    """A database-safe string type of at most ``max_length`` characters."""
    return safe_text(min_length=min_length, max_length=max_length)


def filter_address(queryset: QuerySet[Any], column: str, value: str) -> QuerySet[Any]:
    """``queryset`` where the IP address ``column`` equals ``value``; nothing for a non-address.

    PostgreSQL stores addresses as ``inet`` and fails the whole query on text that is not one, so
    a filter value is parsed first: a filter that cannot match anything matches nothing.
    """
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return queryset.none()
    return queryset.filter(**{column: str(address)})


def is_asset(field: models.Field[Any, Any]) -> bool:
    from medshield.assets.models import Asset

    return bool(field.is_relation and field.related_model is Asset)


def input_type(field: models.Field[Any, Any]) -> Any:
    """The pydantic type of a value written to ``field`` (None allowed when the column is)."""
    kind = field.get_internal_type()
    result: Any
    if field.is_relation:
        result = AssetTag if is_asset(field) else Id
    elif field.model.__name__ == "Asset" and field.name == "asset_tag":
        result = NewAssetTag
    elif field.choices:
        values = tuple(str(value) for value, _label in field.flatchoices)
        if field.blank and "" not in values:
            values = ("", *values)
        result = Literal[values]  # type: ignore[valid-type]
    elif kind == "BooleanField":
        result = bool
    elif kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        result = Annotated[int, Field(ge=low, le=high)]
    elif kind in {"CharField", "SlugField", "GenericIPAddressField", "URLField"}:
        length = field.max_length or (39 if kind == "GenericIPAddressField" else None)
        result = text(length, 0 if field.blank else 1)
    elif kind == "TextField":
        result = text(None)
    else:  # pragma: no cover - a model field type the API was not taught
        raise TypeError(f"no API input type for {field!r}")
    return result | None if field.null else result


def output_type(field: models.Field[Any, Any]) -> Any:
    """The pydantic type of ``field`` as the API returns it."""
    kind = field.get_internal_type()
    result: Any
    if field.is_relation:
        result = str if is_asset(field) else int
    elif kind == "BooleanField":
        result = bool
    elif kind in INT_RANGES or kind in {"AutoField", "BigAutoField"}:
        result = int
    elif kind == "DateTimeField":
        result = datetime.datetime
    elif kind == "DateField":
        result = datetime.date
    elif kind == "FloatField":
        result = float
    elif kind == "DecimalField":
        result = float
    elif kind == "JSONField":
        result = Any
    else:
        result = str
    return result | None if field.null else result


_MISSING = object()


def output_getter(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
    """How to read ``field`` of an object as the API returns it (an asset by its tag, other
    relations by id). Decided once per field, so a list of many rows only calls the getters."""
    if field.is_relation:
        if not is_asset(field):
            return operator.attrgetter(field.attname)
        name, annotated = field.name, f"{field.name}_tag"

        def asset_tag(obj: models.Model) -> Any:
            # A queryset may annotate the tag as "<field>_tag" (one column, not a whole asset).
            tag = obj.__dict__.get(annotated, _MISSING)
            if tag is not _MISSING:
                return tag
            related = getattr(obj, name)
            return related.asset_tag if related is not None else None

        return asset_tag
    if field.get_internal_type() == "DecimalField":
        attname = field.attname

        def number(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            return float(value) if value is not None else None

        return number
    return operator.attrgetter(field.attname)


def input_default(field: models.Field[Any, Any]) -> Any:
    """What a create or full update leaves in ``field`` when the input does not name it.

    Returns ``...`` (required) for fields without a default that may not be blank.
    """
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if field.blank and not field.is_relation:
        return ""
    return ...
