"""Making and revoking API tokens, with the audit record each one leaves.

The web page and the ``token`` commands both come through here, so neither can forget the audit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from medshield.api.models import DEFAULT_DAYS, ApiToken
from medshield.audit.log import record
from medshield.audit.models import AuditAction


def create_token(
    owner: Any,
    *,
    name: str,
    scope: str,
    days: int = DEFAULT_DAYS,
    request: HttpRequest | None = None,
    via: str = "web",
    operator: str = "",
) -> tuple[ApiToken, str]:
    """Issue a token for ``owner`` and audit it; returns the row and the full token text."""
    with transaction.atomic():
        token, text = ApiToken.issue(owner, name=name, scope=scope, days=days)
        record(
            AuditAction.TOKEN,
            request=request,
            user=request.user if request is not None else owner,
            target=f"token {token.prefix} of {owner.get_username()}",
            detail={
                "event": "created",
                "owner": owner.get_username(),
                "name": token.name,
                "scope": token.scope,
                "expires": token.expires_at.isoformat(),
                "via": via,
                **({"operator": operator} if operator else {}),
            },
        )
    return token, text


def revoke_token(
    token: ApiToken, *, request: HttpRequest | None = None, via: str = "web", operator: str = ""
) -> bool:
    """Revoke ``token`` and audit it; False (and no record) when it was revoked already."""
    with transaction.atomic():
        if not token.revoke():
            return False
        owner = token.user
        record(
            AuditAction.TOKEN,
            request=request,
            user=request.user if request is not None else owner,
            target=f"token {token.prefix} of {owner.get_username()}",
            detail={
                "event": "revoked",
                "owner": owner.get_username(),
                "name": token.name,
                "via": via,
                **({"operator": operator} if operator else {}),
            },
        )
    return True
