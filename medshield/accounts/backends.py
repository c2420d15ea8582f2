"""The lockout check before the password check (django-axes), and the permission lookup."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
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


class RoleBackend(ModelBackend):
    """Django's ModelBackend, with a login's permissions read in the one query of
    :func:`medshield.accounts.access.access_of` instead of two of its own."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            from medshield.accounts.access import access_of

            user_obj._perm_cache = set(access_of(user_obj).permissions)
        return user_obj._perm_cache  # type: ignore[no-any-return]
