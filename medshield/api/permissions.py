"""Permission rules of the API's URLs (the contract: URL name -> {method: permission}).

Every resource gets ``api:<name>-list`` (GET list, POST create) and ``api:<name>-detail`` (GET,
PUT, PATCH, DELETE), mapped to Django's model permissions: view, add, change, delete. Built from
the resources themselves, so a new resource cannot be served without its rule. History is the
``accounts.view_history`` capability rather than a model permission.
"""

from __future__ import annotations

from medshield.api.crud import Resource
from medshield.api.readonly import RESOURCES as READ_ONLY
from medshield.api.register import RESOURCES as REGISTER

#: a resource's model -> the permission that lets a login read it, when not ``view_<model>``
VIEW_OVERRIDES = {"core.objectchange": "accounts.view_history"}


def _rules(resource: Resource) -> dict[str, dict[str, str]]:
    meta = resource.model._meta
    stem = f"{meta.app_label}.{{action}}_{meta.model_name}"
    view = VIEW_OVERRIDES.get(meta.label_lower, stem.format(action="view"))
    listing = {"GET": view}
    detail = {"GET": view}
    if resource.writable:
        listing["POST"] = stem.format(action="add")
        detail["PUT"] = detail["PATCH"] = stem.format(action="change")
        detail["DELETE"] = stem.format(action="delete")
    return {f"api:{resource.name}-list": listing, f"api:{resource.name}-detail": detail}


RULES: dict[str, dict[str, str]] = {
    "api:openapi-json": {"GET": "authenticated"},
    "api:openapi-view": {"GET": "authenticated"},
    # /api/ itself: ninja's placeholder that answers 404 pointing at the docs
    "api:api-root": {"GET": "authenticated"},
    # every login manages its own tokens (a token never exceeds its login's rights)
    "api:token-list": {"GET": "authenticated", "POST": "authenticated"},
    "api:token-revoke": {"POST": "authenticated"},
}
for _resource in (*REGISTER, *READ_ONLY):
    RULES.update(_rules(_resource))
