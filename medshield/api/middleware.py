"""Authenticate API requests that carry ``Authorization: Bearer <token>``.

Sits right after Django's AuthenticationMiddleware, so everything after it (the permission
middleware, the change actor, the views) sees the token's login as ``request.user``. A token
request is not a browser request: it carries no cookie an attacker's page could ride on, so the
API does not ask it for a CSRF token (session requests to the API still must send one).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from medshield.api.models import ApiToken
from medshield.audit.log import record
from medshield.audit.models import AuditAction

API_PREFIX = "/api/"
#: the token page: a token must not be able to make more tokens
TOKEN_PAGES = "/api/tokens/"  # noqa: S105 - a URL, not a password
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: last_used is written at most this often per token (seconds), not on every request
LAST_USED_GRANULARITY = 60


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None when there is none."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _refuse(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse:
    record(AuditAction.DENIED, request=request, detail={"reason": code, "via": "api token"})
    response = JsonResponse({"detail": message, "code": code}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


class ApiTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        text = bearer_token(request)
        if text is None:
            return self.get_response(request)
        if request.path_info.startswith(TOKEN_PAGES):
            return _refuse(
                request,
                403,
                "token_not_allowed",
                _("API tokens are managed by a logged-in user, not with a token."),
            )
        token = ApiToken.find(text)
        if token is None:
            return _refuse(request, 401, "invalid_token", _("The API token is not valid."))
        if token.is_revoked:
            return _refuse(request, 401, "token_revoked", _("The API token has been revoked."))
        if token.is_expired:
            return _refuse(request, 401, "token_expired", _("The API token has expired."))
        if not token.user.is_active:
            return _refuse(request, 401, "user_inactive", _("The token's login is disabled."))
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        if request.method not in SAFE_METHODS and not token.allows_writes:
            return _refuse(
                request,
                403,
                "read_only_token",
                _("This token may only read (GET); make a token with the write scope."),
            )
        now = timezone.now()
        if token.last_used is None or (now - token.last_used).total_seconds() > (
            LAST_USED_GRANULARITY
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        return self.get_response(request)
