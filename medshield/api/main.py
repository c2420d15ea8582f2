"""The REST API: one NinjaAPI mounted at /api/, its schema at /api/openapi.json, docs at /api/docs.

Authentication is an API token (``Authorization: Bearer ms_...``, made at /api/tokens/ or with
``medshield token create``) or the browser session (with Django's CSRF token on writes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger, _csrf_needed

from medshield import __version__
from medshield.api import errors, readonly, register
from medshield.api.auth import AUTH
from medshield.api.rendering import JsonRenderer

DESCRIPTION = """\
The register of networked medical devices, their network and what is known about their
vulnerabilities.

* Authenticate with an API token: `Authorization: Bearer ms_...` (make one at `/api/tokens/`).
  A token with the `read` scope may only GET.
* Lists take `limit` (at most 500) and `offset`, and answer `count` and `items`.
* Assets are named by their asset tag; everything else by its id.
* Every register object has an `ETag`. PUT, PATCH and DELETE require it in `If-Match`:
  428 when it is missing, 412 when someone changed the object since you read it.
* Errors are `{"detail": message, "code": word, "errors": [{"loc": [...], "msg": ...}]}`.
"""


def _login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and the docs are for logged-in users and token holders only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.path.rstrip("/").endswith("/docs"):
                return redirect_to_login(request.get_full_path())
            response = JsonResponse(
                {"detail": _("Log in or send an API token."), "code": "not_authenticated"},
                status=401,
            )
            response["WWW-Authenticate"] = "Bearer"
            return response
        return view(request, *args, **kwargs)

    return wrapper


class LocalSwagger(Swagger):
    """ninja's Swagger page from its own templates and static files, never its CDN variant
    (ninja picks that one when "ninja" is not an installed app; see the settings)."""

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": _csrf_needed(api),
        }
        return render(request, self.template, context)


api = NinjaAPI(
    title="medshield API",
    docs=LocalSwagger(),
    version=__version__,
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    docs_decorator=_login_required,
    renderer=JsonRenderer(),
)
errors.install(api)
api.add_router("/", register.router())
api.add_router("/", readonly.router())
