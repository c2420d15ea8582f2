"""The one way to write to the audit log."""

from __future__ import annotations

import getpass
from typing import Any

from django.http import HttpRequest

from medshield.audit.models import AuditAction, AuditEvent
from medshield.core.clientip import client_ip


def record(
    action: AuditAction | str,
    *,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``request`` fills in the user, address, method and path when given."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if not username and user is not None and getattr(user, "is_authenticated", False):
        username = user.get_username()
    event = AuditEvent(
        action=str(action),
        username=username[:150],
        target=target[:300],
        detail=detail or {},
    )
    if request is not None:
        event.ip = client_ip(request)
        event.method = request.method or ""
        event.path = request.get_full_path()[:500]
    event.save(force_insert=True)
    return event


def cli_username() -> str:
    """Who runs a management command: the operating-system login, as ``cli:<login>``.

    A command has no web login; the OS account is what the server's own logs can match it to.
    """
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        who = "unknown"
    return f"cli:{who}"
