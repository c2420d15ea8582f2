"""Attach the logged-in user to every change made while serving a request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from medshield.core.actor import acting_as, actor_for_user


class ChangeActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(actor_for_user(getattr(request, "user", None), fallback="anonymous")):
            return self.get_response(request)
