"""The permission rules of every URL, gathered from each app's ``permissions.py``.

Each installed app with URLs declares ``RULES``: URL name (with its namespace, e.g.
``"api:asset-list"``) -> {HTTP method or ``"*"``: required permission}. A permission is
:data:`PUBLIC` (no login), :data:`AUTHENTICATED` (any logged-in user) or a Django permission
``"app_label.codename"``. :class:`medshield.accounts.middleware.PermissionMiddleware` asks
:func:`required_permission` on every request and refuses what has no rule (fail closed), so the
rules are the one place where access is decided (see /work/notes/contract.md, issue 7).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

PUBLIC = "public"
AUTHENTICATED = "authenticated"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "*"})
_PERMISSION = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")

Rule = dict[str, str]


def _check(app: str, name: Any, rule: Any) -> None:
    """Refuse a malformed rule at start-up rather than guess what it meant at request time."""
    where = f"{app}.permissions.RULES[{name!r}]"
    if not isinstance(name, str) or not name:
        raise ImproperlyConfigured(f"{where}: the URL name must be a non-empty string")
    if not isinstance(rule, dict) or not rule:
        raise ImproperlyConfigured(f"{where}: must map HTTP methods to permissions")
    for method, permission in rule.items():
        if method not in METHODS:
            raise ImproperlyConfigured(f"{where}: unknown method {method!r}")
        if not isinstance(permission, str) or not (
            permission in (PUBLIC, AUTHENTICATED) or _PERMISSION.match(permission)
        ):
            raise ImproperlyConfigured(
                f"{where}[{method!r}]: {permission!r} is neither 'public', 'authenticated' "
                "nor 'app_label.codename'"
            )


@cache
def rules() -> dict[str, Rule]:
    """Every app's RULES merged; a URL name declared by two apps is a configuration error."""
    merged: dict[str, Rule] = {}
    owner: dict[str, str] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.permissions"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # this app has no rules (and, if it has URLs, they are refused)
            raise
        declared = getattr(module, "RULES", None)
        if not isinstance(declared, dict):
            raise ImproperlyConfigured(f"{module_name} must define RULES as a dict")
        for name, rule in declared.items():
            _check(config.name, name, rule)
            if name in merged:
                raise ImproperlyConfigured(
                    f"the URL name {name!r} has rules in both {owner[name]} and {config.name}"
                )
            merged[name] = {method: permission for method, permission in rule.items()}
            owner[name] = config.name
    return merged


def reset() -> None:
    """Forget the gathered rules (tests that change an app's RULES call this)."""
    rules.cache_clear()


def rule_for(url_name: str | None) -> Rule | None:
    """The rule of one URL name, or None when it has none (the request is then refused)."""
    return rules().get(url_name) if url_name else None


def required_permission(url_name: str | None, method: str) -> str | None:
    """What ``method`` on ``url_name`` requires, or None when nothing allows it.

    HEAD is answered like GET (Django serves it with the GET view); any other method must be
    named in the rule or covered by ``"*"``.
    """
    rule = rule_for(url_name)
    if rule is None:
        return None
    method = method.upper()
    if method in rule:
        return rule[method]
    if "*" in rule:
        return rule["*"]
    if method == "HEAD" and "GET" in rule:
        return rule["GET"]
    return None


def allows(user: Any, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` (inactive users hold nothing but public)."""
    if permission == PUBLIC:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    if permission == AUTHENTICATED:
        return True
    return bool(user.has_perm(permission))
