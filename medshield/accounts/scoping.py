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
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return None
    from medshield.accounts.models import Profile

    profile = Profile.objects.filter(user=user).first()
    return (profile.manufacturer.strip() or None) if profile is not None else None


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
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return False
    from medshield.accounts.models import Role

    return bool(user.groups.filter(name=Role.MANUFACTURER).exists()) and (
        manufacturer_of(user) is None
    )


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
