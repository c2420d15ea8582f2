"""Who is making the current change: set by the web middleware, the CLI and the importers."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("actor", default=None)


def current_actor() -> Actor:
    return _current.get() or Actor(user_id=None, name="system")


def actor_for_user(user: AbstractBaseUser | None, fallback: str = "system") -> Actor:
    if user is not None and user.is_authenticated:
        return Actor(user_id=user.pk, name=user.get_username())
    return Actor(user_id=None, name=fallback)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
