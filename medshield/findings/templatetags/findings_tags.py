"""Template helpers of the findings pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_url(context: template.Context, key: str) -> str:
    """The current list URL sorted by ``key`` (back to the first page)."""
    params: QueryDict = context["request"].GET.copy()
    params["sort"] = key
    params.pop("page", None)
    return f"?{params.urlencode()}"


@register.simple_tag(takes_context=True)
def export_query(context: template.Context) -> str:
    """The current filters as a query string for the CSV export."""
    params: QueryDict = context["request"].GET.copy()
    params.pop("page", None)
    return params.urlencode()


@register.filter
def status_colour(value: Any) -> str:
    from medshield.findings.models import FindingStatus

    return FindingStatus.colour(str(value))


@register.filter
def match_label(value: Any) -> str:
    """An evidence status ("affected"...) in the reader's language."""
    from medshield.findings.models import MatchStatus

    return str(MatchStatus(value).label) if value in MatchStatus.values else str(value)


@register.filter
def certainty_label(value: Any) -> str:
    from medshield.findings.models import Certainty

    return str(Certainty(value).label) if value in Certainty.values else str(value)
