"""Small presentation helpers: coloured badges, sortable column headers, history values."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from medshield.assets.choices import AssetStatus, Criticality

register = template.Library()


@register.simple_tag
def criticality_badge(value: str) -> SafeString | str:
    """A Bootstrap badge in the criticality's colour; nothing for non-clinical assets."""
    if not value:
        return ""
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        Criticality.colour(value),
        Criticality(value).label,
    )


@register.simple_tag
def status_badge(value: str) -> SafeString | str:
    """A Bootstrap badge in the status colour."""
    if not value:
        return ""
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        AssetStatus.colour(value),
        AssetStatus(value).label,
    )


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str) -> SafeString:
    """A column heading that sorts by ``key``, flipping direction when already sorted by it.

    The link keeps the current filters, drops the page number (a new order starts at page one),
    and carries htmx attributes so that only the table is replaced when JavaScript runs.
    """
    request = context["request"]
    current: str = context.get("sort", "")
    params: QueryDict = request.GET.copy()
    params.pop("page", None)
    descending = current == key
    params["sort"] = f"-{key}" if descending else key
    url = f"?{params.urlencode()}"
    arrow = ""
    aria = "none"
    if current == key:
        arrow, aria = "▲", "ascending"
    elif current == f"-{key}":
        arrow, aria = "▼", "descending"
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}" hx-get="{}" hx-target="#asset-table" '
        'hx-push-url="true">{} <span class="sort-arrow" aria-hidden="true">{}</span></a></th>',
        aria,
        url,
        url,
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int) -> str:
    """The current URL with another page number."""
    params: QueryDict = context["request"].GET.copy()
    params["page"] = str(number)
    return f"?{params.urlencode()}"


@register.filter
def history_value(value: Any) -> Any:
    """How one side of a recorded change reads: booleans as yes/no, empties as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value
