"""ETags and If-Match: a write over a version the client has not seen is refused (412).

An object's ETag is derived from its version, the ``last_updated`` time every save stamps (the
one the web edit form carries in its hidden ``version`` field), together with its stored values,
so two saves that landed in the same microsecond still differ. A client sends the ETag it read
back in ``If-Match``; :func:`check_if_match` compares it with the row as locked for the write,
inside the writing transaction, so two clients holding the same ETag cannot both pass.

If-Match is required on PUT, PATCH and DELETE of register objects (428 without it): an API
client that forgets it would otherwise overwrite other people's changes unseen. ``*`` matches
any current version (RFC 9110) for a client that deliberately overwrites.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from medshield.api.errors import ApiError


def is_versioned(model: type[models.Model]) -> bool:
    return any(f.name == "last_updated" for f in model._meta.concrete_fields)


def etag_of(obj: models.Model) -> str:
    """The quoted strong ETag of ``obj``'s current version."""
    state: dict[str, Any] = {"pk": obj.pk, "version": obj.last_updated.isoformat()}  # type: ignore[attr-defined]
    snapshot = getattr(obj, "snapshot", None)
    if snapshot is not None:
        state["values"] = snapshot()
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _parse(header: str) -> list[str]:
    """The entity tags of an If-Match header (weak ones are kept as written, so never match)."""
    return [part.strip() for part in header.split(",") if part.strip()]


def check_if_match(request: HttpRequest, obj: models.Model) -> None:
    """Raise 428 when If-Match is missing, 412 when it does not name ``obj``'s current ETag."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise ApiError(
            428,
            "if_match_required",
            _(
                "Send the ETag you read in an If-Match header, so that a change made by someone "
                "else since then is not overwritten."
            ),
        )
    tags = _parse(header)
    if "*" in tags:
        return
    current = etag_of(obj)
    if current not in tags:
        raise ApiError(
            412,
            "stale",
            _(
                "Someone else changed this object after you read it (If-Match {sent} is not the "
                "current ETag {current}). Read it again, then make your change."
            ).format(sent=header.strip()[:100], current=current),
        )
