"""The register through the API: lists, filters, writes through the models, history, errors."""

from __future__ import annotations

import pytest

from medshield.api.models import TokenScope
from medshield.assets.models import Asset, Site
from medshield.core.models import ObjectChange
from medshield.network.models import ExternalConnection, IPAddress
from medshield.vulns.models import Vulnerability
from tests.api.conftest import ApiClient, make_token, user_with
from tests.findings.conftest import store_finding

pytestmark = pytest.mark.django_db


def etag(api: ApiClient, path: str) -> str:
    response = api.get(path)
    assert response.status_code == 200, response.content
    return response["ETag"]


def test_it_lists_with_pagination_and_filters(api, hospital):
    page = api.get("/api/assets/?limit=2&offset=1").json()
    assert page["count"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [a["asset_tag"] for a in page["items"]] == ["ME-000102", "NW-000001"]

    def tags(query: str) -> list[str]:
        response = api.get(f"/api/assets/?{query}")
        assert response.status_code == 200, response.content
        return [a["asset_tag"] for a in response.json()["items"]]

    assert tags("kind=medical_device") == ["ME-000101", "ME-000102"]
    assert tags("status=stored") == ["ME-000102"]
    assert tags("criticality=life_sustaining") == ["ME-000101"]
    assert tags("manufacturer=cisco") == ["NW-000001"]
    assert tags(f"subnet={hospital.servers.pk}") == ["SV-000002"]
    assert tags("q=10.1.20.16") == ["ME-000102"]
    assert tags("q=pacs01") == ["SV-000002"]
    assert tags(f"site={hospital.site.pk}&kind=server") == ["SV-000001"]
    page = api.get(f"/api/ip-addresses/?asset={hospital.pump.asset_tag}").json()
    assert [ip["address"] for ip in page["items"]] == ["10.1.20.15"]
    assert api.get("/api/ip-addresses/?address=not-an-ip").json()["count"] == 0


def test_it_refuses_bad_query_values_with_422(api):
    for query in (
        "limit=0",
        "limit=501",
        "offset=-1",
        "kind=toaster",
        "subnet=abc",
        "room=0",
        "kind=pc&kind=server",
    ):
        response = api.get(f"/api/assets/?{query}")
        assert response.status_code == 422, query
        body = response.json()
        assert body["code"] == "invalid" and body["errors"][0]["loc"][0] == "query"


def test_it_names_assets_by_tag_and_others_by_id(api, hospital):
    asset = api.get("/api/assets/ME-000101/").json()
    assert asset["room"] == hospital.icu.pk and asset["place"] == "central/main/3F/301"
    interface = api.get(f"/api/interfaces/?asset={hospital.pump.asset_tag}").json()["items"][0]
    assert interface["asset"] == "ME-000101" and interface["mac"] == "00:1a:2b:3c:4d:5e"
    assert api.get("/api/assets/NOPE-1/").status_code == 404
    assert api.get("/api/sites/999999/").json()["code"] == "not_found"


def test_a_create_goes_through_the_model_and_the_history(api, admin, hospital):
    body = {
        "asset_tag": "ME-000200",
        "name": "人工呼吸器",
        "kind": "medical_device",
        "manufacturer": "Dräger",
        "criticality": "life_sustaining",
        "room": hospital.icu.pk,
    }
    response = api.post("/api/assets/", body)
    assert response.status_code == 201, response.content
    assert response["Location"].endswith("/api/assets/ME-000200/")
    created = response.json()
    assert response["ETag"] == created["etag"]
    asset = Asset.objects.get(asset_tag="ME-000200")
    assert asset.status == "in_service" and asset.place_sort  # defaults and derived fields
    change = ObjectChange.objects.filter(object_id=asset.pk, action="create").get()
    assert change.user == admin and change.user_name == "admin"


def test_the_models_rules_come_back_as_422_naming_the_field(api, hospital):
    response = api.post(
        "/api/assets/",
        {"asset_tag": "NW-000009", "name": "core", "kind": "network_device"},
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors == [{"loc": ["body", "network_role"], "msg": errors[0]["msg"]}]
    # unknown references, duplicates and surplus fields are refused the same way
    cases = [
        ({"asset_tag": "X-1", "name": "x", "kind": "pc", "room": 999999}, "room"),
        ({"asset_tag": "X-1", "name": "x", "kind": "server", "host": "NOPE"}, "host"),
        ({"asset_tag": "ME-000101", "name": "x", "kind": "pc"}, "asset_tag"),
        ({"asset_tag": "X-1", "name": "x", "kind": "pc", "colour": "red"}, "colour"),
        ({"asset_tag": "X\x00", "name": "x", "kind": "pc"}, "asset_tag"),
        # the model's validator ends in $, which lets a trailing newline through; the API not
        ({"asset_tag": "X-1\n", "name": "x", "kind": "pc"}, "asset_tag"),
    ]
    for body, field in cases:
        response = api.post("/api/assets/", body)
        assert response.status_code == 422, (body, response.content)
        assert field in {loc for e in response.json()["errors"] for loc in e["loc"]}, body
    assert not Asset.objects.filter(asset_tag="X-1").exists()
    # an address that is not one is a 422 on the field, not an error inside the model's clean()
    interface = hospital.pump.interfaces.get()
    response = api.post("/api/ip-addresses/", {"interface": interface.pk, "address": "10.1.x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "address"]


def test_malformed_json_is_400(api):
    response = api.client.post(
        "/api/zones/",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_put_replaces_and_patch_changes_only_what_is_sent(api, hospital):
    path = "/api/assets/ME-000102/"
    response = api.patch(path, {"status": "in_service"}, **{"If-Match": etag(api, path)})
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["status"] == "in_service" and after["manufacturer"] == "日本光電"
    assert response["ETag"] == after["etag"] == etag(api, path)

    response = api.put(path, {"name": "モニタ", "kind": "pc"}, **{"If-Match": after["etag"]})
    assert response.status_code == 200, response.content
    replaced = response.json()
    # fields left out of a PUT take their defaults; the tag stays
    assert replaced["manufacturer"] == "" and replaced["room"] is None
    assert replaced["asset_tag"] == "ME-000102"
    history = ObjectChange.objects.filter(object_id=hospital.monitor.pk, action="update")
    assert history.count() == 2 and history.first().user_name == "admin"


def test_a_stale_write_gets_412_and_changes_nothing(api, hospital):
    path = f"/api/sites/{hospital.site.pk}/"
    first = etag(api, path)
    # two clients read the same version...
    assert api.patch(path, {"name": "本院"}, **{"If-Match": first}).status_code == 200
    # ...the second one's write is refused instead of overwriting the first
    response = api.patch(path, {"name": "分院"}, **{"If-Match": first})
    assert response.status_code == 412
    assert response.json()["code"] == "stale"
    assert Site.objects.get().name == "本院"
    response = api.delete(path, **{"If-Match": first})
    assert response.status_code == 412
    assert Site.objects.exists()


def test_if_match_is_required_and_star_overwrites(api, hospital):
    path = "/api/assets/ME-000101/"
    response = api.patch(path, {"name": "x"})
    assert response.status_code == 428
    assert response.json()["code"] == "if_match_required"
    assert api.delete(path).status_code == 428
    assert api.patch(path, {"name": "x"}, **{"If-Match": "*"}).status_code == 200
    assert Asset.objects.get(asset_tag="ME-000101").name == "x"


def test_delete_removes_or_answers_409_while_referred_to(api, hospital):
    response = api.delete(f"/api/sites/{hospital.site.pk}/", **{"If-Match": "*"})
    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    path = "/api/assets/ME-000102/"
    assert api.delete(path, **{"If-Match": etag(api, path)}).status_code == 204
    assert not Asset.objects.filter(asset_tag="ME-000102").exists()
    assert ObjectChange.objects.filter(action="delete", object_id=hospital.monitor.pk).exists()


def test_an_address_is_placed_in_its_subnet(api, hospital):
    interface = hospital.pacs.interfaces.get()
    response = api.post("/api/ip-addresses/", {"interface": interface.pk, "address": "10.9.0.21"})
    assert response.status_code == 201, response.content
    assert response.json()["subnet"] == hospital.servers.pk
    assert IPAddress.objects.get(address="10.9.0.21").subnet == hospital.servers


def test_a_connection_keeps_its_ordered_path(api, hospital):
    body = {
        "name": "PACS cloud",
        "kind": "internet",
        "method": "ssl_vpn",
        "through": ["NW-000001", "SV-000001"],
        "reaches": ["SV-000002"],
    }
    response = api.post("/api/connections/", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["through"] == ["NW-000001", "SV-000001"]
    connection = ExternalConnection.objects.get(name="PACS cloud")
    assert [a.asset_tag for a in connection.path()] == ["NW-000001", "SV-000001"]

    path = f"/api/connections/{connection.pk}/"
    response = api.patch(path, {"through": ["SV-000001", "NW-000001"]}, **{"If-Match": "*"})
    assert response.status_code == 200, response.content
    assert response.json()["through"] == ["SV-000001", "NW-000001"]
    assert response.json()["reaches"] == ["SV-000002"]
    change = ObjectChange.objects.filter(object_id=connection.pk, changes__has_key="through")
    assert change.exists()

    for through in (["NW-000001", "NW-000001"], ["NOPE"]):
        response = api.patch(path, {"through": through}, **{"If-Match": "*"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "through"]


def test_read_only_resources_have_no_write_operations(api):
    assert api.post("/api/vulnerabilities/", {"vuln_id": "CVE-1"}).status_code == 405
    assert api.get("/api/vulnerabilities/").status_code == 200
    assert api.get("/api/history/?object_type=assets.asset").json()["count"] == 5


def test_a_manufacturers_login_sees_and_writes_only_its_own_assets(
    django_user_model, hospital, client
):
    maker = user_with(
        django_user_model,
        "terumo",
        "assets.view_asset",
        "assets.change_asset",
        "network.view_interface",
        "network.view_flow",
        "network.view_externalconnection",
        "accounts.view_history",
        maker="テルモ",
    )
    api = ApiClient(client, make_token(maker, TokenScope.WRITE))
    listed = [a["asset_tag"] for a in api.get("/api/assets/").json()["items"]]
    assert listed == ["ME-000101"]
    assert api.get("/api/assets/ME-000102/").status_code == 404
    assert [i["asset"] for i in api.get("/api/interfaces/").json()["items"]] == ["ME-000101"]
    # the remote line reaches the pump: visible, but its path shows only what the login may see
    (connection,) = api.get("/api/connections/").json()["items"]
    assert connection["reaches"] == ["ME-000101"] and connection["through"] == []
    assert api.get("/api/flows/").json()["count"] == 0
    history = api.get("/api/history/").json()["items"]
    assert history and all(
        c["object_repr"].endswith("(ME-000101)") or c["related_type"] == "assets.asset"
        for c in history
    )
    # it may edit its own make's asset, but not hand it to another manufacturer
    path = "/api/assets/ME-000101/"
    assert api.patch(path, {"notes": "fw 2.2"}, **{"If-Match": "*"}).status_code == 200
    response = api.patch(path, {"manufacturer": "Other"}, **{"If-Match": "*"})
    assert response.status_code == 403
    assert Asset.objects.get(asset_tag="ME-000101").manufacturer == "テルモ"
    assert (
        api.patch("/api/assets/ME-000102/", {"notes": "x"}, **{"If-Match": "*"}).status_code == 404
    )


def test_findings_are_read_only_and_scoped_to_visible_assets(api, django_user_model, hospital):
    vuln = Vulnerability.objects.create(vuln_id="CVE-2024-0002")
    # stored as the matching service stores them (a shared verdict, no history row)
    for asset in (hospital.pump, hospital.monitor):
        store_finding(asset, vuln)
    page = api.get("/api/findings/?vulnerability=CVE-2024-0002").json()
    assert sorted(f["asset"] for f in page["items"]) == ["ME-000101", "ME-000102"]
    assert all(f["vulnerability"] == "CVE-2024-0002" for f in page["items"])
    maker = user_with(django_user_model, "nk", "findings.view_finding", maker="日本光電")
    maker_api = ApiClient(api.client, make_token(maker, TokenScope.READ))
    page = maker_api.get("/api/findings/").json()
    assert [f["asset"] for f in page["items"]] == ["ME-000102"]


def test_a_login_without_the_permission_is_refused(django_user_model, hospital, client):
    viewer = user_with(django_user_model, "viewer", "assets.view_asset")
    api = ApiClient(client, make_token(viewer, TokenScope.WRITE))
    assert api.get("/api/assets/").status_code == 200
    for response in (
        api.patch("/api/assets/ME-000101/", {"name": "x"}, **{"If-Match": "*"}),
        api.get("/api/subnets/"),
        api.get("/api/history/"),
    ):
        assert response.status_code == 403
    assert Asset.objects.get(asset_tag="ME-000101").name != "x"
