"""A manufacturer's login sees only its own assets (and their SBOMs), everywhere it can look."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from medshield.sboms.models import Sbom
from tests.accounts.conftest import MAKER, Hospital


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_only_its_own_assets(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    body = login(personas["manufacturer"]).get(reverse("asset-list")).content.decode()
    assert hospital.pump.asset_tag in body
    for other in (hospital.monitor, hospital.switch, hospital.pacs):
        assert other.asset_tag not in body
    # a viewer sees them all
    everything = login(personas["viewer"]).get(reverse("asset-list")).content.decode()
    assert hospital.monitor.asset_tag in everything


def test_it_gets_404_for_another_manufacturers_asset(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    client = login(personas["manufacturer"])
    assert client.get(reverse("asset-detail", args=[hospital.pump.asset_tag])).status_code == 200
    response = client.get(reverse("asset-detail", args=[hospital.monitor.asset_tag]))
    assert response.status_code == 404
    assert hospital.monitor.name not in response.content.decode()


def test_its_asset_page_hides_the_network_and_the_history(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    body = (
        login(personas["manufacturer"])
        .get(reverse("asset-detail", args=[hospital.pump.asset_tag]))
        .content.decode()
    )
    assert hospital.switch.name not in body  # the switch port the pump is cabled to
    assert hospital.remote.name not in body  # the remote-maintenance line
    viewer = (
        login(personas["administrator"])
        .get(reverse("asset-detail", args=[hospital.pump.asset_tag]))
        .content.decode()
    )
    assert hospital.switch.name in viewer


def test_a_manufacturer_role_without_a_name_sees_nothing(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    user = personas["manufacturer"]
    user.medshield_profile.manufacturer = ""
    user.medshield_profile.save()
    body = login(user).get(reverse("asset-list")).content.decode()
    assert hospital.pump.asset_tag not in body


def test_it_sees_only_the_sboms_of_its_products(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    mine = Sbom.objects.create(
        format="cyclonedx-json", spec_version="1.5", document_id="urn:uuid:mine", sha256="0" * 64,
        name="pump-fw", manufacturer=MAKER, model=hospital.pump.model,
        software_version=hospital.pump.software_version,
    )  # fmt: skip
    theirs = Sbom.objects.create(
        format="cyclonedx-json", spec_version="1.5", document_id="urn:uuid:theirs", sha256="1" * 64,
        name="monitor-fw",
    )  # fmt: skip
    theirs.assets.add(hospital.monitor)
    shared = Sbom.objects.create(
        format="cyclonedx-json", spec_version="1.5", document_id="urn:uuid:shared",
        sha256="2" * 64, name="shared-lib",
    )  # fmt: skip
    shared.assets.add(hospital.pump, hospital.monitor)
    client = login(personas["manufacturer"])
    body = client.get(reverse("sbom-list")).content.decode()
    assert "pump-fw" in body and "monitor-fw" not in body
    assert "shared-lib" in body and hospital.monitor.asset_tag not in body
    assert client.get(reverse("sbom-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("sbom-detail", args=[theirs.pk])).status_code == 404


def test_it_cannot_export_or_open_the_hospital_wide_pages(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    client = login(personas["manufacturer"])
    for name in ("register-export", "place-tree", "subnet-list", "diagram-index", "discovery"):
        assert client.get(reverse(name)).status_code == 403, name


def test_its_menu_shows_only_what_it_may_open(personas, hospital: Hospital) -> None:  # type: ignore[no-untyped-def]
    body = login(personas["manufacturer"]).get(reverse("asset-list")).content.decode()
    assert f'href="{reverse("sbom-list")}"' in body
    for name in ("diagram-index", "place-tree", "subnet-list", "register-import"):
        assert f'href="{reverse(name)}"' not in body, name
    admin = login(personas["administrator"]).get(reverse("asset-list")).content.decode()
    assert f'href="{reverse("diagram-index")}"' in admin
