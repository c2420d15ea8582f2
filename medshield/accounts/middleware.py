"""The one place where every request is allowed or refused, and the sliding session expiry.

:class:`PermissionMiddleware` looks the resolved URL name and method up in the rules
(:mod:`medshield.accounts.policy`) and refuses whatever they do not allow: an anonymous page
request goes to the login page, an anonymous API request gets 401, a login without the
permission gets a 403 page (or 403 JSON under /api/); a URL without a rule is refused to
everyone (fail closed). Each refusal but the ordinary "please log in" redirect is written to the
audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from medshield.accounts import policy, twofactor
from medshield.audit.log import record
from medshield.audit.models import AuditAction

API_PREFIX = "/api/"
#: a session is written back at most this often just to push its expiry forward
SESSION_REFRESH_SECONDS = 60
_SEEN_KEY = "medshield_seen"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _deny(request: HttpRequest, url_name: str, permission: str | None, reason: str) -> None:
    record(
        AuditAction.DENIED,
        request=request,
        target=url_name,
        detail={"permission": permission or "", "reason": reason},
    )


class PermissionMiddleware:
    """Allow a request only when its URL name's rule allows its method for this user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        match = request.resolver_match
        url_name = match.view_name if match is not None else ""
        rule = policy.rule_for(url_name)
        permission = policy.required_permission(url_name, request.method or "GET")
        if rule is not None and permission is None:
            return self._method_not_allowed(request, url_name, rule)
        if permission == policy.PUBLIC:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self._login_required(request, url_name, permission)
        step = twofactor.outstanding(request)
        if step is not None and url_name not in twofactor.OPEN_DURING[step]:
            return self._second_factor(request, step)
        if permission is None:
            _deny(request, url_name, None, "no rule")
            return self._forbidden(request)
        if policy.allows(user, permission):
            return None
        _deny(request, url_name, permission, "missing permission")
        return self._forbidden(request)

    # --- responses ------------------------------------------------------------------------------
    def _login_required(
        self, request: HttpRequest, url_name: str, permission: str | None
    ) -> HttpResponse:
        if _is_api(request):
            _deny(request, url_name, permission, "not authenticated")
            response = JsonResponse({"detail": _("Authentication required.")}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="medshield"'
            return response
        return redirect_to_login(request.get_full_path())

    def _second_factor(self, request: HttpRequest, step: str) -> HttpResponse:
        if _is_api(request):
            return JsonResponse({"detail": _("Two-factor authentication required.")}, status=401)
        target = reverse("otp-verify" if step == twofactor.VERIFY else "otp-setup")
        return _redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")

    def _forbidden(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            return JsonResponse({"detail": _("You do not have permission to do this.")}, status=403)
        return render(request, "accounts/denied.html", {}, status=403)

    def _method_not_allowed(self, request: HttpRequest, url_name: str, rule: policy.Rule) -> Any:
        allowed = sorted({"GET", "HEAD"} | set(rule) if "GET" in rule else set(rule))
        _deny(request, url_name, None, "method not allowed")
        if _is_api(request):
            response: HttpResponse = JsonResponse({"detail": _("Method not allowed.")}, status=405)
        else:
            response = render(request, "accounts/denied.html", {"method": True}, status=405)
        response["Allow"] = ", ".join(allowed)
        return response


def _redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=302)
    response["Location"] = url
    return response


def mark_seen(request: HttpRequest) -> None:
    """Note that the session was just saved (at login), so no refresh is due for a minute."""
    session = getattr(request, "session", None)
    if session is not None:
        session[_SEEN_KEY] = int(time.time())


class SlidingSessionMiddleware:
    """Push a logged-in session's expiry forward at most once a minute.

    Django's SESSION_SAVE_EVERY_REQUEST writes the session row on every request; an idle timeout
    does not need that precision. Touching one key once a minute makes SessionMiddleware save
    the session (and re-send the cookie) with a fresh SESSION_COOKIE_AGE, so a session ends after
    between SESSION_COOKIE_AGE - 60 s and SESSION_COOKIE_AGE of inactivity.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and settings.SESSION_COOKIE_NAME in request.COOKIES:
            if session.get(SESSION_KEY) is not None:
                now = int(time.time())
                seen = session.get(_SEEN_KEY)
                if not isinstance(seen, int) or now - seen >= SESSION_REFRESH_SECONDS:
                    session[_SEEN_KEY] = now
        return self.get_response(request)
