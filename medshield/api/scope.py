"""Which rows of the things hanging off assets a login may see, from ``visible_assets``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from medshield.accounts.scoping import manufacturer_of, visible_assets


def is_confined(user: Any) -> bool:
    """True for a login that sees only some assets (a manufacturer's)."""
    return manufacturer_of(user) is not None


def hanging_off_assets(queryset: QuerySet[Any], user: Any, *paths: str) -> QuerySet[Any]:
    """``queryset`` limited to rows whose asset at any of ``paths`` the user may see.

    A login that sees every asset gets ``queryset`` unchanged (no subquery over 100,000 assets);
    an anonymous one gets nothing.
    """
    assets = visible_assets(user)
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if not is_confined(user):
        return queryset
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path}__in": assets.values("pk")})
    # distinct: a path through a many-to-many (a connection's hops) would repeat rows
    return queryset.filter(condition).distinct()
