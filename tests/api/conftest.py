"""Fixtures of the API tests: the web tests' small hospital, logins with their tokens, a client
that sends ``Authorization: Bearer``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from medshield.accounts.models import Profile
from medshield.api.models import ApiToken, TokenScope
from medshield.network.models import Flow
from tests.web.conftest import Hospital, hospital  # noqa: F401 - the shared fixture


@dataclass
class ApiClient:
    """The Django test client with a token: ``api.get("/api/assets/")`` -> (status, json, resp)."""

    client: Client
    token: str

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        sent = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en", **headers}
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method.lower())(path, **kwargs)
        return response

    def get(self, path: str, **headers: str) -> Any:
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.call("POST", path, body, **headers)

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.call("PUT", path, body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.call("PATCH", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.call("DELETE", path, **headers)


def make_token(user: Any, scope: str = TokenScope.WRITE, days: int = 30) -> str:
    _token, text = ApiToken.issue(user, name="test", scope=scope, days=days)
    return text


@pytest.fixture
def admin(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api(admin, hospital) -> ApiClient:  # type: ignore[no-untyped-def]  # noqa: F811
    """An administrator's write token over the small hospital."""
    Flow.objects.create(source=hospital.pump, destination=hospital.pacs, protocol="HL7", port=2575)
    return ApiClient(Client(), make_token(admin))


@pytest.fixture
def read_api(admin, hospital) -> ApiClient:  # type: ignore[no-untyped-def]  # noqa: F811
    return ApiClient(Client(), make_token(admin, TokenScope.READ))


def user_with(django_user_model, name: str, *perms: str, maker: str = ""):  # type: ignore[no-untyped-def]
    """A login holding exactly ``perms`` ("assets.view_asset"...), confined to ``maker``."""
    user = django_user_model.objects.create_user(name)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    if maker:
        Profile.objects.create(user=user, manufacturer=maker)
    return user
