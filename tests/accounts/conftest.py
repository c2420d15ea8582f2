"""Personas, one per role, and a small hospital (shared with the web tests)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from medshield.accounts.models import Profile, Role
from tests.web.conftest import Hospital, english, hospital  # noqa: F401 - fixtures, re-exported

#: the manufacturer persona makes the hospital's infusion pump (ME-000101)
MAKER = "テルモ"


def make_user(django_user_model: Any, role: str, password: str, maker: str = "") -> Any:
    user = django_user_model.objects.create_user(f"{role}-user", password=password)
    user.groups.add(Group.objects.get(name=role))
    if maker:
        Profile.objects.create(user=user, manufacturer=maker)
    return user


@pytest.fixture
def personas(db: None, django_user_model: Any, staff_password: str) -> dict[str, Any]:
    """role name -> a login holding only that role; "anonymous" -> None."""
    users: dict[str, Any] = {"anonymous": None}
    for role in Role:
        maker = MAKER if role == Role.MANUFACTURER else ""
        users[role.value] = make_user(django_user_model, role.value, staff_password, maker)
    return users


@pytest.fixture
def samples(hospital: Hospital) -> dict[str, Any]:  # noqa: F811 - the fixture above
    """Values for URL parameters by name (others get a value their converter accepts)."""
    return {
        "tag": hospital.pump.asset_tag,
        "kind": "network",
        "fmt": "svg",
        "vuln_id": "CVE-2024-0001",
    }
