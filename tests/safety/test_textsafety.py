"""Control characters and bidi overrides are refused in register text, with a clear reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from medshield.assets.models import Asset
from medshield.core.textsafety import (
    SafeTextValidator,
    find_unsafe,
    unsafe_reason,
    validate_multiline,
    validate_single_line,
)
from medshield.register.errors import ImportRejected
from medshield.register.importer import import_document
from medshield.register.readers import read_register
from tests.web.test_asset_form import form_data


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


FORBIDDEN = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202a", "\u202e", "\u2066", "\u2069"]
LINE_BREAKS = ["\t", "\n", "\r"]


@pytest.mark.parametrize("char", FORBIDDEN)
def test_it_refuses_invisible_characters_everywhere(char: str) -> None:
    value = f"輸液ポンプ{char}ICU"
    assert find_unsafe(value) == (6, char)
    assert find_unsafe(value, multiline=True) == (6, char)
    with pytest.raises(ValidationError) as refused:
        validate_multiline(value)
    assert f"U+{ord(char):04X}" in refused.value.messages[0]
    assert "position 6" in refused.value.messages[0]


@pytest.mark.parametrize("char", LINE_BREAKS)
def test_line_breaks_and_tabs_only_in_multi_line_text(char: str) -> None:
    value = f"line one{char}line two"
    validate_multiline(value)
    with pytest.raises(ValidationError):
        validate_single_line(value)


def test_it_names_the_override() -> None:
    assert unsafe_reason("fdp\u202eexe.pdf") == (
        "contains the invisible character U+202E RIGHT-TO-LEFT OVERRIDE at position 4; remove it"
    )
    # Ordinary Japanese, full-width and emoji text passes.
    assert unsafe_reason("ＭＥ－００１ 透析装置 🩺 (第2病棟)") is None


def test_the_validator_is_a_migration_friendly_value() -> None:
    path, args, kwargs = SafeTextValidator(multiline=True).deconstruct()
    assert path == "medshield.core.textsafety.SafeTextValidator"
    assert kwargs == {"multiline": True}
    assert SafeTextValidator() == validate_single_line != validate_multiline


def _document(**asset: object) -> dict[str, object]:
    return {
        "format": "medshield-register",
        "version": 1,
        "assets": [{"asset_tag": "ME-1", "name": "輸液ポンプ", "kind": "medical_device", **asset}],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("name", "輸液\x1b[31mポンプ", "U+001B ESC"),
        ("manufacturer", "Terumo\u202e", "U+202E"),
        ("notes", "点検済み\x00", "U+0000 NUL"),
        ("asset_tag", "ME-\u20661", "U+2066"),
        ("name", "two\nlines", "U+000A LF"),
    ],
)
def test_the_importer_refuses_them_and_writes_nothing(field: str, value: str, where: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        import_document(_document(**{field: value}))
    message = str(refused.value)
    assert where in message and field in message
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_the_importer_keeps_line_breaks_in_notes() -> None:
    import_document(_document(notes="1行目\n2行目\tタブ"))
    assert Asset.objects.get().notes == "1行目\n2行目\tタブ"


@pytest.mark.django_db
def test_a_csv_cell_names_its_row_and_column() -> None:
    data = b"asset_tag,name,kind\nME-1,ok,medical_device\nME-2,bad\x07name,pc\n"
    parsed = read_register(data, filename="register.csv")
    with pytest.raises(ImportRejected) as refused:
        import_document(parsed.document, source=parsed.source)
    assert str(refused.value).startswith("row 3, column name: contains the invisible character")
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_the_asset_form_refuses_them(engineer_client, hospital) -> None:  # type: ignore[no-untyped-def]
    url = reverse("asset-edit", args=[hospital.pump.asset_tag])
    response = engineer_client.post(url, form_data(hospital.pump, name="ポンプ\u202e1"))
    assert response.status_code == 400  # the form again, with the reason
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in response.content.decode()
    hospital.pump.refresh_from_db()
    assert "\u202e" not in hospital.pump.name
    ok = engineer_client.post(url, form_data(hospital.pump, notes="行1\r\n行2"))
    assert ok.status_code == 302
    hospital.pump.refresh_from_db()
    assert hospital.pump.notes.splitlines() == ["行1", "行2"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "refused"),
    [
        ("name", "Pump\u202eevil", True),
        ("name", "Pump\nICU", True),
        ("notes", "line one\nline two\tindented", False),
        ("notes", "bell\x07", True),
    ],
)
def test_every_register_model_refuses_invisible_characters(
    field: str, value: str, refused: bool
) -> None:
    """The model itself refuses them (API, forms and importers all go through full_clean)."""
    from django.core.exceptions import ValidationError

    from medshield.assets.models import Asset

    asset = Asset(asset_tag="ME-7", name="Pump", kind="medical_device")
    setattr(asset, field, value)
    if refused:
        with pytest.raises(ValidationError) as caught:
            asset.clean_fields()
        assert field in caught.value.message_dict
    else:
        asset.clean_fields()
        assert getattr(asset, field) == value
