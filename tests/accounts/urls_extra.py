"""The project's URLs plus pages nobody wrote a rule for, and an API route (for the tests)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


def new_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("a page someone forgot to protect")


def api_probe(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path("forgotten/", new_page, name="forgotten-page"),
    path("unnamed/", new_page),
    path("api/probe/", api_probe, name="test-api-probe"),
    path("", include("medshield.urls")),
]
