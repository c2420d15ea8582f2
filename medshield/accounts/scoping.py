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
    return qs if maker is None else qs.filter(manufacturer__iexact=maker)


def can_see_asset(user: Any, asset: Asset) -> bool:
    return visible_assets(user, Asset.objects.filter(pk=asset.pk)).exists()
