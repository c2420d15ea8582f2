"""``{% load access %}`` ... ``{% if user|may_open:"place-tree" %}``: show a link only to those
the permission rules would let through (the same rules the middleware applies)."""

from __future__ import annotations

from typing import Any

from django import template

from medshield.accounts import policy

register = template.Library()


@register.filter
def may_open(user: Any, url_name: str) -> bool:
    """Whether ``user`` may GET the page named ``url_name`` (False when it has no rule)."""
    permission = policy.required_permission(url_name, "GET")
    return permission is not None and policy.allows(user, permission)
