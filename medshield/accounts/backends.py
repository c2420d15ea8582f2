"""The lockout check before the password check (django-axes)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out user name and address before any password is compared.

    axes refuses to work without a request. Every login page passes one; only code that calls
    ``authenticate()`` itself without a request (Django's test client ``login()``) has none,
    and such a call has no address to count failures against, so it is not checked here.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
