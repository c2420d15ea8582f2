"""Creating, editing and deleting assets through the forms."""

from __future__ import annotations

from django.urls import reverse

from medshield.assets.models import Asset
from medshield.core.models import ObjectChange


def form_data(asset: Asset, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": asset.name,
        "kind": asset.kind,
        "status": asset.status,
        "manufacturer": asset.manufacturer,
        "model": asset.model,
        "serial_number": asset.serial_number,
        "software_version": asset.software_version,
        "department": asset.department,
        "owner": asset.owner,
        "criticality": asset.criticality,
        "support_contact": asset.support_contact,
        "network_role": asset.network_role,
        "hostname": asset.hostname,
        "role": asset.role,
        "host": asset.host_id or "",
        "room": asset.room_id or "",
        "rack": asset.rack_id or "",
        "notes": asset.notes,
        # the version the form was opened at, as the page's hidden field carries it
        "version": Asset.objects.get(pk=asset.pk).last_updated.isoformat() if asset.pk else "",
    }
    if asset.handles_patient_data:
        data["handles_patient_data"] = "on"
    if asset.is_virtual:
        data["is_virtual"] = "on"
    data.update(changes)
    return data


def test_it_edits_an_asset_and_records_who_changed_what(
    engineer_client, engineer, hospital
) -> None:
    url = reverse("asset-edit", args=["ME-000101"])
    page = engineer_client.get(url).content.decode()
    assert "<optgroup" in page and "中央病院 › 本館 › 3F" in page
    response = engineer_client.post(
        url, form_data(hospital.pump, software_version="3.0.1", asset_tag="HACKED")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("asset-detail", args=["ME-000101"])
    pump = Asset.objects.get(pk=hospital.pump.pk)
    assert pump.software_version == "3.0.1"
    assert pump.asset_tag == "ME-000101"  # the tag is not editable
    change = ObjectChange.objects.filter(object_id=pump.pk).first()
    assert change.user == engineer
    assert change.changes == {"software_version": ["2.1.0", "3.0.1"]}


def test_it_shows_model_validation_errors_next_to_fields(
    engineer_client, hospital, english
) -> None:
    url = reverse("asset-edit", args=["ME-000101"])
    response = engineer_client.post(url, form_data(hospital.pump, is_virtual="on"))
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["is_virtual"] == ["Only a server can be virtual."]
    body = response.content.decode()
    assert "is-invalid" in body
    assert "Only a server can be virtual." in body


def test_it_rejects_a_rack_in_another_room(engineer_client, hospital, english) -> None:
    url = reverse("asset-edit", args=["ME-000101"])
    response = engineer_client.post(url, form_data(hospital.pump, rack=hospital.rack.pk))
    assert response.context["form"].errors["rack"] == [
        "The rack stands in another room than the asset."
    ]


def test_it_offers_only_physical_servers_as_hosts(engineer_client, hospital) -> None:
    form = engineer_client.get(reverse("asset-create")).context["form"]
    assert list(form.fields["host"].queryset) == [hospital.host]


def test_it_creates_an_asset(engineer_client, hospital) -> None:
    response = engineer_client.post(
        reverse("asset-create"),
        {
            "asset_tag": "ME-000200",
            "name": "人工呼吸器",
            "kind": "medical_device",
            "status": "in_service",
            "criticality": "life_sustaining",
            "room": hospital.icu.pk,
        },
    )
    assert response.status_code == 302
    asset = Asset.objects.get(asset_tag="ME-000200")
    assert asset.room == hospital.icu
    assert ObjectChange.objects.filter(object_id=asset.pk, action="create").exists()


def test_it_requires_the_asset_tag_on_create(engineer_client, hospital) -> None:
    response = engineer_client.post(
        reverse("asset-create"), {"name": "x", "kind": "pc", "status": "in_service"}
    )
    assert response.status_code == 400
    assert "asset_tag" in response.context["form"].errors


def test_it_deletes_after_confirmation(engineer_client, hospital) -> None:
    url = reverse("asset-delete", args=["ME-000102"])
    assert engineer_client.get(url).status_code == 200
    assert engineer_client.post(url).status_code == 302
    assert not Asset.objects.filter(asset_tag="ME-000102").exists()


def test_it_refuses_to_delete_a_host_with_guests(engineer_client, hospital) -> None:
    response = engineer_client.post(reverse("asset-delete", args=["SV-000001"]))
    assert response.status_code == 302
    assert Asset.objects.filter(asset_tag="SV-000001").exists()


def test_a_save_over_someone_elses_newer_change_is_refused(engineer_client, hospital) -> None:  # type: ignore[no-untyped-def]
    url = reverse("asset-edit", args=["ME-000101"])
    opened = form_data(hospital.pump, software_version="3.0.1")
    other = Asset.objects.get(pk=hospital.pump.pk)
    other.owner = "ME室"
    other.save()  # someone else saved after the form was opened
    response = engineer_client.post(url, opened)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors().as_data()[0].code == "stale"
    pump = Asset.objects.get(pk=hospital.pump.pk)
    assert (pump.software_version, pump.owner) == ("2.1.0", "ME室")
