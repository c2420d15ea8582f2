"""Who is calling the API (an API token or a browser session) and whether the URL's rule lets them.

The token itself is checked by :class:`medshield.api.middleware.ApiTokenMiddleware`; here it only
has to be recognised. A session request must carry Django's CSRF token on writes, because a
browser sends the session cookie with any page's request; a token request carries no cookie and
needs none.

The URL's permission rule (``medshield/api/permissions.py``) is enforced by the accounts app's
permission middleware for every URL; the API asks the same rule again, so an API operation is
never served to a login its rule does not allow, whatever the middleware order.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthorizationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from medshield.accounts.policy import allows, required_permission

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authorise(request: HttpRequest) -> Any:
    """``request.user`` when the URL's rule allows the request's method, else 403."""
    user = request.user
    match = request.resolver_match
    permission = required_permission(match.view_name if match else None, request.method or "")
    if permission is None or not allows(user, permission):
        raise AuthorizationError(
            message=_("Your login does not have the right to do this ({permission}).").format(
                permission=permission or "-"
            )
        )
    return user


class TokenAuth(HttpBearer):
    """``Authorization: Bearer ms_...``: the middleware has verified it and set the user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if getattr(request, "api_token", None) is None:
            return None
        return authorise(request)


class SessionAuth(APIKeyCookie):
    """The logged-in browser session; writes need Django's CSRF token (X-CSRFToken header)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if getattr(request, "api_token", None) is not None:
            return None
        if not request.user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise AuthorizationError(
                message=_(
                    "CSRF check failed: a browser session must send the X-CSRFToken header; "
                    "scripts should use an API token."
                )
            )
        return authorise(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return self(request)


AUTH = [TokenAuth(), SessionAuth()]
