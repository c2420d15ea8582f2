"""The OpenAPI schema, the docs page and the permission rule of every API URL."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from medshield.api.permissions import RULES
from tests.api.conftest import make_token

pytestmark = pytest.mark.django_db


def _api_url_names() -> set[str]:
    resolver = get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "api":
            for inner in pattern.url_patterns:
                assert isinstance(inner, URLPattern)
                names.add(f"api:{inner.name}")
    return names


def test_every_api_url_has_a_rule_and_every_rule_a_url():
    names = _api_url_names()
    assert "api:asset-list" in names and "api:openapi-json" in names
    assert names == set(RULES)


def test_rules_map_methods_to_model_permissions():
    assert RULES["api:asset-list"] == {"GET": "assets.view_asset", "POST": "assets.add_asset"}
    assert RULES["api:asset-detail"] == {
        "GET": "assets.view_asset",
        "PUT": "assets.change_asset",
        "PATCH": "assets.change_asset",
        "DELETE": "assets.delete_asset",
    }
    assert RULES["api:vulnerability-detail"] == {"GET": "vulns.view_vulnerability"}
    assert RULES["api:change-list"] == {"GET": "accounts.view_history"}
    assert RULES["api:openapi-json"] == {"GET": "authenticated"}


def test_the_schema_is_for_logged_in_users_and_token_holders(admin, client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 401
    token = make_token(admin)
    schema = client.get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    assert schema["openapi"].startswith("3.")
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert ("GET", "/api/assets/") in operations
    assert ("PATCH", "/api/assets/{tag}/") in operations
    assert ("DELETE", "/api/connections/{id}/") in operations
    assert ("GET", "/api/history/") in operations
    assert ("POST", "/api/vulnerabilities/") not in operations
    patch = schema["paths"]["/api/assets/{tag}/"]["patch"]
    assert {"412", "428", "422"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_docs_page_serves_swagger_from_our_own_static_files(admin, client):
    response = client.get("/api/docs")
    assert response.status_code in {302, 401}
    client.force_login(admin)
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page
    assert "/api/openapi.json" in page
    from django.contrib.staticfiles import finders

    # ninja is not an installed app (it would slow every start-up): its files come from the
    # static folders the settings add.
    assert finders.find("ninja/swagger-ui-bundle.js") is not None
    assert finders.find("ninja/swagger-ui-init.js") is not None
