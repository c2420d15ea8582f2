"""Object-level visibility: which assets a login may see.

Every page, API endpoint, export and command that lists or opens assets (or things hanging off
assets: findings, interfaces, SBOM attachments) must start from :func:`visible_assets`, so that a
manufacturer's login sees only the devices of its own manufacturer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from medshield.assets.models import Asset


def manufacturer_of(user: Any) -> str | None:
    """The manufacturer a login is confined to, or None when it is not confined."""
    return _scope(user)[0]


def _scope(user: Any) -> tuple[str | None, bool]:
    """(the manufacturer the login is confined to, whether it is a manufacturer's login that
    names none), from :func:`~medshield.accounts.access.access_of` (one query per request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, False
    if getattr(user, "is_superuser", False):
        return None, False
    from medshield.accounts.access import access_of
    from medshield.accounts.models import Role

    found = access_of(user)
    maker = found.manufacturer.strip() or None
    return maker, maker is None and Role.MANUFACTURER in found.groups


def visible_assets(user: Any, queryset: QuerySet[Asset] | None = None) -> QuerySet[Asset]:
    """The assets ``user`` may see (all of them, or its manufacturer's only); none if anonymous."""
    qs = Asset.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    maker = manufacturer_of(user)
    if maker is None:
        return qs.none() if _manufacturer_without_name(user) else qs
    return qs.filter(manufacturer__iexact=maker)


def can_see_asset(user: Any, asset: Asset) -> bool:
    return visible_assets(user, Asset.objects.filter(pk=asset.pk)).exists()


def is_confined(user: Any) -> bool:
    """Whether ``user`` sees only part of the register (a manufacturer's login)."""
    return manufacturer_of(user) is not None or _manufacturer_without_name(user)


def _manufacturer_without_name(user: Any) -> bool:
    """A login in the manufacturer role whose profile names no manufacturer: it must see
    nothing rather than everything (a forgotten --manufacturer must not open the register)."""
    return _scope(user)[1]


def visible_sboms(user: Any, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
    """The SBOMs ``user`` may see: all, or those attached to its visible assets or to its
    manufacturer's products."""
    from django.db.models import Q

    from medshield.sboms.models import Sbom

    qs = Sbom.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if not is_confined(user):
        return qs
    maker = manufacturer_of(user)
    if maker is None:
        return qs.none()
    mine = Q(assets__in=visible_assets(user)) | Q(manufacturer__iexact=maker)
    return qs.filter(pk__in=Sbom.objects.filter(mine).values("pk"))
