"""Logins, failed logins and logouts go to the audit log; a login is marked for its second step."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from medshield.accounts import twofactor
from medshield.accounts.middleware import mark_seen
from medshield.audit.log import record
from medshield.audit.models import AuditAction


@receiver(user_logged_in, dispatch_uid="medshield-audit-login")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        twofactor.on_login(request, user)
        mark_seen(request)  # the login itself saves the session: no refresh due for a minute
    pending = request is not None and twofactor.outstanding(request) == twofactor.VERIFY
    record(
        AuditAction.LOGIN,
        request=request,
        user=user,
        detail={"step": "password", "second_factor": "pending" if pending else "none"},
    )


@receiver(user_logged_out, dispatch_uid="medshield-audit-logout")
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(AuditAction.LOGOUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="medshield-audit-login-failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in ``credentials``; only the name is kept.
    username = str(credentials.get("username") or "")[:150]
    record(
        AuditAction.LOGIN_FAILED,
        request=request,
        user=None,
        username=username,
        detail={"step": "password"},
    )
