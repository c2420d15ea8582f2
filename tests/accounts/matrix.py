"""The role matrix, generated from the URL configuration: every URL pattern x every method of its
rule x every persona (each role, and an anonymous visitor), and what the role table says.

Kept apart from the tests so the test of the test can run the same check with a rule removed or
the middleware told to skip one check, and see it fail.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpResponse
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from medshield.accounts import policy
from medshield.accounts.roles import role_holds

ANONYMOUS = "anonymous"
#: methods tried for a rule's "*"
ANY_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full name (with namespaces), route text and parameters."""

    name: str | None
    route: str
    converters: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        return self.name or f"<unnamed {self.route}>"


def routes() -> list[Route]:
    """Every URL pattern of the project, walking includes recursively."""

    def walk(
        patterns: list[Any], namespaces: list[str], prefix: str, converters: dict[str, Any]
    ) -> Iterator[Route]:
        for pattern in patterns:
            own = dict(converters)
            own.update(getattr(pattern.pattern, "converters", {}) or {})
            regex = getattr(pattern.pattern, "regex", None)
            for group in regex.groupindex if regex is not None else {}:
                own.setdefault(group, None)
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                spaces = namespaces + [pattern.namespace] if pattern.namespace else namespaces
                yield from walk(pattern.url_patterns, spaces, text, own)
            elif isinstance(pattern, URLPattern):
                name = ":".join([*namespaces, pattern.name]) if pattern.name else None
                yield Route(name, text, tuple(sorted(own.items(), key=lambda kv: kv[0])))

    found: dict[str, Route] = {}
    for route in walk(get_resolver().url_patterns, [], "/", {}):
        # reverse() finds one pattern per name (django-ninja, for one, names every method's
        # pattern alike): requests to the others would repeat the same ones.
        found.setdefault(route.name or route.label, route)
    return sorted(found.values(), key=lambda r: (r.label, r.route))


#: values tried for a URL parameter with no sample that fits
FALLBACKS = ("1", "sample", str(uuid.UUID(int=1)), "json", "csv", "svg", "png", "pdf")


def _candidates(name: str, converter: Any, samples: dict[str, Any]) -> list[str]:
    values = [str(samples[name])] if name in samples else []
    values += [v for v in FALLBACKS if v not in values]
    regex = getattr(converter, "regex", None)
    return [v for v in values if regex is None or re.fullmatch(regex, v)]


def path_of(route: Route, samples: dict[str, Any]) -> str:
    """A request path for ``route``: the samples where they fit, else values its parameters
    accept (a made-up id leads to a 404 from the view, which still shows the check passed)."""
    assert route.name is not None, f"{route.route} has no URL name, so it can have no rule"
    names = [name for name, _ in route.converters]
    choices = [_candidates(name, conv, samples) for name, conv in route.converters]
    for values in itertools.product(*choices):
        try:
            return reverse(route.name, kwargs=dict(zip(names, values, strict=True)) or None)
        except NoReverseMatch:
            continue
    raise AssertionError(f"no sample values fit {route.route}; add them to the samples fixture")


def methods_of(rule: policy.Rule) -> list[str]:
    methods: set[str] = set()
    for method in rule:
        methods.update(ANY_METHODS if method == "*" else (method,))
    return sorted(methods)


def expected_allowed(persona: str, permission: str) -> bool:
    """What the role table (not the database, not the middleware) says."""
    if permission == policy.PUBLIC:
        return True
    if persona == ANONYMOUS:
        return False
    if permission == policy.AUTHENTICATED:
        return True
    return role_holds(persona, permission)


def refused(response: HttpResponse) -> bool:
    """A refusal by the permission middleware: 401, 403, or a redirect to the login page."""
    if response.status_code in (401, 403):
        return True
    if response.status_code == 302:
        # The middleware sends anonymous visitors to the login page with ?next=; a view that
        # redirects to it on its own (logout, the code page without a login) does not.
        return str(response["Location"]).startswith(f"{reverse('login')}?next=")
    return False


def request(client: Client, method: str, path: str) -> HttpResponse:
    if method == "GET":
        return client.get(path)
    if method == "POST":
        return client.post(path, {})
    return client.generic(method, path, b"{}", content_type="application/json")


def check_route(
    route: Route,
    rule: policy.Rule | None,
    personas: dict[str, Any],
    samples: dict[str, Any],
) -> list[str]:
    """Problems found for one route: each persona x each method of the declared rule.

    ``rule`` is what the route is supposed to require (the declared rule); the middleware is the
    one under test, so a route whose rule has gone missing shows up as refusals where the table
    says "allowed", and a middleware that skips a check as an "allowed" where it says "denied".
    """
    if rule is None:
        return [f"{route.label}: no permission rule (add it to the app's permissions.py)"]
    problems = []
    path = path_of(route, samples)
    clients: dict[str, Client] = {}
    for method in methods_of(rule):
        permission = rule.get(method) or rule["*"]
        for persona, user in personas.items():
            client = clients.get(persona)
            if client is None or (user is not None and SESSION_KEY not in client.session):
                # a fresh login, or again after a request that ended the session (logout)
                client = clients[persona] = Client()
                if user is not None:
                    client.force_login(user)
            response = request(client, method, path)
            allowed = expected_allowed(persona, permission)
            if allowed and refused(response):
                problems.append(
                    f"{route.label} {method} {path}: {persona} should be allowed "
                    f"({permission}) but got {response.status_code}"
                )
            elif not allowed and not refused(response):
                problems.append(
                    f"{route.label} {method} {path}: {persona} should be denied "
                    f"({permission}) but got {response.status_code}"
                )
    return problems
