"""The discovery page: login, accept each kind of item in one step, dismiss with a reason."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from medshield.assets.models import Asset
from medshield.core.models import ObjectChange
from medshield.discovery.models import Dismissal
from medshield.network.models import Flow, Interface

from .test_drift import observed  # noqa: F401 - fixture


def test_login_required(client: Any, db: Any) -> None:
    for name in ("discovery", "discovery-accept-host"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse("discovery-accept"), {"kind": "x", "key": "y"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_lists_the_drift(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.get(reverse("discovery"))
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("10.0.1.77", "ME-1&gt;MS-1:22/tcp", "02:00:00:00:00:99", "scan.xml", "ME-2"):
        assert text in page
    assert engineer_client.get(reverse("discovery-accept")).status_code == 405


def test_accept_an_undeclared_flow(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.post(
        reverse("discovery-accept"), {"kind": "undeclared_flow", "key": "ME-1>MS-1:22/tcp"}
    )
    assert response.status_code == 302
    flow = Flow.objects.get(port=22)
    assert (flow.source.asset_tag, flow.destination.asset_tag, flow.protocol) == (
        "ME-1",
        "MS-1",
        "SSH",
    )
    change = ObjectChange.objects.filter(object_id=flow.pk, action="create").first()
    assert change is not None and change.user_name == "engineer"
    page = engineer_client.get(reverse("discovery")).content.decode()
    assert "ME-1&gt;MS-1:22/tcp" not in page


def test_accept_a_changed_mac(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    key = "mac:MS-1:eth0:02:00:00:00:00:99"
    response = engineer_client.post(
        reverse("discovery-accept"), {"kind": "changed_fact", "key": key}
    )
    assert response.status_code == 302
    assert Interface.objects.get(asset__asset_tag="MS-1").mac == "02:00:00:00:00:99"
    change = ObjectChange.objects.filter(action="update", object_repr__endswith="eth0").get()
    assert change.changes == {"mac": ["02:00:00:00:00:20", "02:00:00:00:00:99"]}
    assert change.user_name == "engineer"


def test_accept_an_unknown_host(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.post(
        reverse("discovery-accept"), {"kind": "unknown_host", "key": "10.0.1.77"}
    )
    assert response.status_code == 302
    form_url = response["Location"]
    form = engineer_client.get(form_url)
    assert form.status_code == 200
    initial = form.context["form"].initial
    assert (initial["ip"], initial["mac"], initial["hostname"]) == (
        "10.0.1.77",
        "02:00:00:00:00:77",
        "mystery",
    )
    response = engineer_client.post(
        form_url,
        {
            "key": "10.0.1.77",
            "asset_tag": "ME-77",
            "name": "Mystery box",
            "kind": "medical_device",
            "interface": "eth0",
            "mac": "02:00:00:00:00:77",
            "ip": "10.0.1.77",
            "manufacturer": "Acme",
        },
    )
    assert response.status_code == 302
    asset = Asset.objects.get(asset_tag="ME-77")
    assert asset.interfaces.get().ip_addresses.get().subnet.prefix == "10.0.1.0/24"
    page = engineer_client.get(reverse("discovery")).content.decode()
    assert "10.0.1.77" not in page.split('id="undeclared_flow"')[0]


def test_the_host_form_refuses_a_taken_tag(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.post(
        reverse("discovery-accept-host"),
        {"key": "10.0.1.77", "asset_tag": "ME-1", "name": "x", "kind": "pc", "interface": "eth0"},
    )
    assert response.status_code == 400
    assert not Asset.objects.filter(name="x").exists()


def test_dismiss_needs_a_reason_and_hides_the_item(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    item = {"kind": "silent_asset", "key": "ME-2"}
    engineer_client.post(reverse("discovery-dismiss"), item)
    assert not Dismissal.objects.exists()
    engineer_client.post(reverse("discovery-dismiss"), {**item, "reason": "in repair until May"})
    dismissal = Dismissal.objects.get()
    assert dismissal.reason == "in repair until May" and dismissal.user.username == "engineer"
    page = engineer_client.get(reverse("discovery")).content.decode()
    assert "1 dismissed item is hidden" in page
    assert 'value="ME-2"' not in page


def test_accepting_a_silent_asset_opens_its_page(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.post(
        reverse("discovery-accept"), {"kind": "silent_asset", "key": "ME-2"}
    )
    assert response["Location"] == reverse("asset-edit", kwargs={"tag": "ME-2"})


def test_a_stale_item_is_refused(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    response = engineer_client.post(
        reverse("discovery-accept"),
        {"kind": "undeclared_flow", "key": "ME-1>MS-1:9999/tcp"},
        follow=True,
    )
    assert "no longer in the drift list" in response.content.decode()
    assert not Flow.objects.filter(port=9999).exists()


def test_csrf_is_enforced(observed: Any, engineer: Any) -> None:  # noqa: F811
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)
    response = client.post(
        reverse("discovery-accept"), {"kind": "undeclared_flow", "key": "ME-1>MS-1:22/tcp"}
    )
    assert response.status_code == 403


def test_upload_an_evidence_file(engineer_client: Any, small_register: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import NMAP_HEAD, NMAP_TAIL, nmap_host

    scan = (NMAP_HEAD + nmap_host("10.0.1.88") + NMAP_TAIL).encode()
    upload = SimpleUploadedFile("up.xml", scan, content_type="text/xml")
    response = engineer_client.post(reverse("discovery-upload"), {"file": upload}, follow=True)
    assert "up.xml imported: 1 hosts" in response.content.decode()
    upload = SimpleUploadedFile("up.xml", scan[:-40], content_type="text/xml")
    response = engineer_client.post(reverse("discovery-upload"), {"file": upload}, follow=True)
    assert "Refused" in response.content.decode()


def test_the_page_speaks_japanese(engineer_client: Any, observed: Any) -> None:  # noqa: F811
    from django.conf import settings

    engineer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    page = engineer_client.get(reverse("discovery"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "未登録ホスト" in page and "未登録の通信フロー" in page and "対応不要" in page
