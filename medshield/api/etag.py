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

import functools
import hashlib
import json
import operator
from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from medshield.api.errors import ApiError


@functools.cache
def is_versioned(model: type[models.Model]) -> bool:
    return any(f.name == "last_updated" for f in model._meta.concrete_fields)


@functools.cache
def _state_reader(model: type[models.Model]) -> Callable[[models.Model], Any]:
    """A function reading ``model``'s pk, version and logged values as one tuple.

    JSON values are written with sorted keys, so the state does not depend on the order in which
    a dictionary was built; every other value's repr is already stable."""
    logged = getattr(model, "logged_fields", None)
    fields = list(logged()) if logged is not None else []
    read = operator.attrgetter("pk", "last_updated", *(f.attname for f in fields))
    json_at = [i + 2 for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if not json_at:
        return read

    def read_json_sorted(obj: models.Model) -> Any:
        state = list(read(obj))
        for i in json_at:
            state[i] = json.dumps(state[i], sort_keys=True, default=str)
        return state

    return read_json_sorted


def etag_of(obj: models.Model) -> str:
    """The quoted strong ETag of ``obj``'s current version.

    The digest covers the primary key, the version and every logged field's value, written with
    repr (an ETag is compared only with one computed the same way, from a row of the same
    database), so an object of a list costs a few microseconds rather than a JSON dump.
    """
    state = repr(_state_reader(type(obj))(obj))
    return f'"{hashlib.sha256(state.encode()).hexdigest()[:32]}"'


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
