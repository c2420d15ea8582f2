"""The role matrix: every URL pattern of the project x every method of its rule x every role (and
an anonymous visitor), allowed or denied as medshield.accounts.roles says.

The patterns come from the URL configuration at collection time, so a URL added by any app is
checked here without anyone editing this file; one with no rule fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from medshield.accounts import policy
from medshield.accounts.models import Role
from tests.accounts import matrix

ROUTES = matrix.routes()


def test_it_finds_the_urls_of_every_app() -> None:
    names = {r.name for r in ROUTES}
    # one from each app that has pages, so a broken walk cannot pass with an empty list
    for name in ("login", "asset-detail", "register-export", "diagram-download", "sbom-list",
                 "discovery-accept", "feed-status", "set_language", "otp-verify"):  # fmt: skip
        assert name in names


@pytest.mark.parametrize("route", ROUTES, ids=[r.label for r in ROUTES])
def test_every_url_has_a_rule(route: matrix.Route) -> None:
    assert route.name is not None, f"{route.route} needs a URL name and a permission rule"
    assert policy.rule_for(route.name) is not None, (
        f"{route.name} ({route.route}) has no rule: add it to its app's permissions.py"
    )


def test_every_rule_names_an_existing_url() -> None:
    names = {r.name for r in ROUTES}
    stale = sorted(set(policy.rules()) - names)
    assert stale == [], f"rules for URL names that do not exist: {stale}"


@pytest.mark.parametrize("route", ROUTES, ids=[r.label for r in ROUTES])
def test_role_matrix(
    route: matrix.Route, personas: dict[str, Any], samples: dict[str, Any]
) -> None:
    assert set(personas) == {"anonymous", *(r.value for r in Role)}
    problems = matrix.check_route(route, policy.rule_for(route.name), personas, samples)
    assert problems == [], "\n".join(problems)
