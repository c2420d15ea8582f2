"""The web import: upload, column-mapping preview, confirm; and the export download."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from medshield.assets.models import Asset
from medshield.register.document import export_document, write_xlsx
from tests.register.conftest import state

pytestmark = pytest.mark.django_db

CSV = (
    "管理番号,機器名,種別,設置場所,IPアドレス,棚卸日\r\n"
    "ME-3001,輸液ポンプ,医療機器,A/3F/301,10.1.10.80,2024-04-01\r\n"
    "ME-3002,シリンジポンプ,医療機器,A/3F/301,10.1.10.81,2024-04-01\r\n"
).encode("cp932")


@pytest.fixture(autouse=True)
def english_pages(client: Client, settings: Any, tmp_path: Path) -> None:
    """Pages in English (the source language), uploads in a folder of the test's own."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    settings.DATA_DIR = tmp_path


def _uploads() -> list[Path]:
    return sorted((Path(settings.DATA_DIR) / "uploads").glob("*.upload"))


def _upload(client: Client, data: bytes, name: str) -> Any:
    return client.post(
        reverse("register-import"), {"file": SimpleUploadedFile(name, data), "format": "auto"}
    )


def test_every_page_needs_a_login(client: Client) -> None:
    for name in ("register-import", "register-import-preview", "register-export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "next=" in response["Location"]


def test_it_previews_then_imports(engineer_client: Client, loaded: dict[str, Any]) -> None:
    existing = set(_uploads())
    response = _upload(engineer_client, CSV, "../../etc/機器.csv")
    assert response.status_code == 302
    assert response["Location"] == reverse("register-import-preview")
    stored = set(_uploads()) - existing
    assert len(stored) == 1 and "機器" not in next(iter(stored)).name

    page = engineer_client.get(reverse("register-import-preview"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="detected-format">CSV<' in html
    assert 'name="map-3"' in html and '<option value="place" selected>' in html
    assert "unknown column" in html and "棚卸日" in html
    assert "輸液ポンプ" in html and "シリンジポンプ" in html
    assert Asset.objects.filter(asset_tag__startswith="ME-300").count() == 0

    # map the stock-take date into the notes, keep the rest as detected
    post = {
        f"map-{i}": f
        for i, f in enumerate(["asset_tag", "name", "kind", "place", "ip_addresses", "notes"])
    }
    response = engineer_client.post(
        reverse("register-import-preview"), {**post, "action": "confirm"}
    )
    assert response.status_code == 302
    pump = Asset.objects.get(asset_tag="ME-3001")
    assert pump.notes == "2024-04-01"
    assert pump.room is not None and pump.room.code == "301"
    assert set(_uploads()) == existing
    change = pump.interfaces.get().ip_addresses.get()
    assert change.address == "10.1.10.80"
    from medshield.core.models import ObjectChange

    assert (
        ObjectChange.objects.filter(object_repr="輸液ポンプ (ME-3001)").get().user_name
        == "engineer"
    )


def test_it_shows_errors_and_writes_nothing(
    engineer_client: Client, loaded: dict[str, Any]
) -> None:
    bad = CSV.replace(b"10.1.10.81", b"10.1.10.21")
    before = state()
    _upload(engineer_client, bad, "bad.csv")
    html = engineer_client.get(reverse("register-import-preview")).content.decode()
    assert "row 3, column IPアドレス: 10.1.10.21 is already used by" in html
    response = engineer_client.post(reverse("register-import-preview"), {"action": "confirm"})
    assert response.status_code == 200
    assert "is already used by" in response.content.decode()
    assert state() == before
    response = engineer_client.post(reverse("register-import-preview"), {"action": "cancel"})
    assert response.status_code == 302


def test_a_whole_workbook_round_trips_through_the_web(
    engineer_client: Client, loaded: dict[str, Any]
) -> None:
    doc = copy.deepcopy(export_document())
    doc["assets"][0]["owner"] = "臨床工学室"
    _upload(engineer_client, write_xlsx(doc), "register.xlsx")
    html = engineer_client.get(reverse("register-import-preview")).content.decode()
    assert 'id="detected-format">XLSX<' in html
    engineer_client.post(reverse("register-import-preview"), {"action": "confirm"})
    assert export_document() == doc


def test_an_unreadable_file_is_refused_on_upload(engineer_client: Client) -> None:
    response = _upload(engineer_client, b"[1, 2]", "x.json")
    assert response.status_code == 200
    assert "one JSON object" in response.content.decode()


def test_it_downloads_each_format(engineer_client: Client, loaded: dict[str, Any]) -> None:
    for fmt, start in (("json", b"{"), ("csv", "\ufeff".encode()), ("xlsx", b"PK")):
        response = engineer_client.get(reverse("register-export"), {"format": fmt})
        assert response.status_code == 200
        assert response.content.startswith(start)
        assert f'.{fmt}"' in response["Content-Disposition"]
    assert engineer_client.get(reverse("register-export"), {"format": "pdf"}).status_code == 400
