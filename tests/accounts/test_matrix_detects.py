"""The test of the role matrix: it must fail when a rule is missing or a check is skipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from medshield.accounts import policy
from medshield.accounts.middleware import PermissionMiddleware
from medshield.audit.models import AuditAction, AuditEvent
from tests.accounts import matrix


def route(name: str) -> matrix.Route:
    return next(r for r in matrix.routes() if r.name == name)


def test_it_passes_for_the_route_as_configured(personas, samples) -> None:  # type: ignore[no-untyped-def]
    export = route("register-export")
    assert matrix.check_route(export, policy.rule_for(export.name), personas, samples) == []


def test_it_fails_when_a_rule_is_removed_from_the_registry(
    personas: dict[str, Any], samples: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = route("register-export")
    declared = policy.rule_for(export.name)
    without = {k: v for k, v in policy.rules().items() if k != "register-export"}
    monkeypatch.setattr(policy, "rules", lambda: without)

    problems = matrix.check_route(export, declared, personas, samples)
    # fail closed: the roles that may export are now refused, and the matrix says so
    assert any("administrator should be allowed" in p for p in problems), problems
    assert any("it_staff should be allowed" in p for p in problems), problems
    # and the generated "every URL has a rule" check names it
    assert matrix.check_route(export, policy.rule_for(export.name), personas, samples) == [
        "register-export: no permission rule (add it to the app's permissions.py)"
    ]


def test_it_fails_when_the_middleware_skips_one_check(
    personas: dict[str, Any], samples: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    original: Callable[..., Any] = PermissionMiddleware.process_view

    def skipping(self: Any, request: Any, *args: Any) -> Any:
        if request.resolver_match.view_name == "register-export":
            return None  # the check someone "temporarily" removed
        return original(self, request, *args)

    monkeypatch.setattr(PermissionMiddleware, "process_view", skipping)
    export = route("register-export")
    problems = matrix.check_route(export, policy.rule_for(export.name), personas, samples)
    for persona in ("viewer", "clinical_engineer", "auditor"):
        assert any(f"{persona} should be denied" in p for p in problems), problems


def test_it_fails_when_a_permission_is_weakened(
    personas: dict[str, Any], samples: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule edited from "assets.delete_asset" to "authenticated" lets the viewer delete.
    delete = route("asset-delete")
    declared = policy.rule_for(delete.name)
    weakened = dict(policy.rules())
    weakened["asset-delete"] = {"GET": "authenticated", "POST": "authenticated"}
    monkeypatch.setattr(policy, "rules", lambda: weakened)
    problems = matrix.check_route(delete, declared, personas, samples)
    assert any("viewer should be denied" in p for p in problems), problems


@pytest.fixture
def extra_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.accounts.urls_extra"


def test_a_new_url_without_a_rule_is_found_and_refused(
    extra_urls: None, personas: dict[str, Any], samples: dict[str, Any]
) -> None:
    found = {r.label: r for r in matrix.routes()}
    assert "forgotten-page" in found and "<unnamed /unnamed/>" in found
    problems = matrix.check_route(found["forgotten-page"], None, personas, samples)
    assert problems == ["forgotten-page: no permission rule (add it to the app's permissions.py)"]
    # and the middleware refuses it, even to the administrator (fail closed)
    client = Client()
    client.force_login(personas["administrator"])
    assert client.get("/forgotten/").status_code == 403
    assert client.get("/unnamed/").status_code == 403
    event = AuditEvent.objects.filter(action=AuditAction.DENIED).first()
    assert event is not None and event.username == "administrator-user"
    assert event.detail["reason"] == "no rule"
