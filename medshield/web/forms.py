"""The asset edit form: a ModelForm whose validation is the model's own ``clean()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import groupby
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from medshield.assets.choices import AssetKind
from medshield.assets.models import ASSET_EDITABLE_FIELDS, Asset, Rack, Room
from medshield.core.textsafety import SafeTextValidator


class GroupedModelChoiceIterator(ModelChoiceIterator):
    """Yield ``(group label, [(value, label), ...])`` so the select renders ``<optgroup>``s."""

    def __iter__(self) -> Iterator[Any]:
        field: GroupedModelChoiceField = self.field  # type: ignore[assignment]
        if field.empty_label is not None:
            yield ("", field.empty_label)
        queryset = self.queryset
        # One query, already ordered by the group key, so groupby sees each group once.
        for group, objects in groupby(queryset, key=field.group_label):
            yield (group, [self.choice(obj) for obj in objects])


class GroupedModelChoiceField(forms.ModelChoiceField):
    """A model choice select grouped by ``group_by(obj)``, the label of each ``<optgroup>``."""

    iterator = GroupedModelChoiceIterator

    def __init__(self, *args: Any, group_by: Callable[[Any], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_label = group_by


def _room_group(room: Room) -> str:
    return f"{room.floor.building.site.name} › {room.floor.building.name} › {room.floor.name}"


def _rack_group(rack: Rack) -> str:
    room = rack.room
    return f"{room.floor.building.name} {room.floor.name} {room.code} {room.name}"


class RoomChoiceField(GroupedModelChoiceField):
    """Rooms grouped by building and floor: "本館 3F" > "301 ICU"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, group_by=_room_group, **kwargs)

    def label_from_instance(self, obj: Room) -> str:
        return f"{obj.code} {obj.name}"


class RackChoiceField(GroupedModelChoiceField):
    """Racks grouped by the room they stand in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, group_by=_rack_group, **kwargs)

    def label_from_instance(self, obj: Rack) -> str:
        return obj.name


class HostChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Asset) -> str:
        return f"{obj.name} ({obj.asset_tag})"


def rooms() -> QuerySet[Room]:
    return Room.objects.select_related("floor__building__site")


def racks() -> QuerySet[Rack]:
    return Rack.objects.select_related("room__floor__building").order_by(
        "room__floor__building__site__code",
        "room__floor__building__code",
        "room__floor__level",
        "room__code",
        "name",
    )


class AssetForm(forms.ModelForm):  # type: ignore[type-arg]
    """Create or edit an asset. The asset tag is fixed once the asset exists, because the
    importer and other systems match on it."""

    room = RoomChoiceField(
        label=_("Room"), queryset=rooms(), required=False, empty_label=_("(not placed)")
    )
    rack = RackChoiceField(
        label=_("Rack"), queryset=racks(), required=False, empty_label=_("(no rack)")
    )
    host = HostChoiceField(
        label=_("Virtualisation host"),
        queryset=Asset.objects.filter(kind=AssetKind.SERVER, is_virtual=False).order_by("name"),
        required=False,
        empty_label=_("(none)"),
        help_text=_("Physical server this virtual server runs on."),
    )

    class Meta:
        model = Asset
        fields = ["asset_tag", *ASSET_EDITABLE_FIELDS]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    #: field groups of the form page, in order: (heading, field names)
    SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
        (
            _("Identity"),
            (
                "asset_tag",
                "name",
                "kind",
                "status",
                "manufacturer",
                "model",
                "serial_number",
                "software_version",
            ),
        ),
        (
            _("Clinical"),
            ("department", "owner", "criticality", "handles_patient_data", "support_contact"),
        ),
        (_("Server and network"), ("network_role", "hostname", "role", "is_virtual", "host")),
        (_("Place"), ("room", "rack")),
        (_("Notes"), ("notes",)),
    )

    #: when the asset was last saved as this form shows it; a save over a newer version is
    #: refused, so two people editing one asset cannot overwrite each other unseen
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.last_updated.isoformat()
            # A disabled field ignores whatever the browser posts, so the tag cannot be changed.
            self.fields["asset_tag"].disabled = True
            self.fields["asset_tag"].help_text = _("The asset tag cannot be changed.")
            host: forms.ModelChoiceField = self.fields["host"]  # type: ignore[assignment]
            host.queryset = host.queryset.exclude(pk=self.instance.pk)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
        for name in ("department", "manufacturer"):
            self.fields[name].widget.attrs["list"] = f"{name}-options"
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                # No control characters or bidi overrides (medshield.core.textsafety)
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(SafeTextValidator(multiline=multiline))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk:
            stored = Asset.objects.filter(pk=self.instance.pk).values_list(
                "last_updated", flat=True
            )
            current = stored.first()
            if current is not None and self.data.get("version") != current.isoformat():
                raise forms.ValidationError(
                    _(
                        "Someone else saved this asset after you opened it. Open it again to "
                        "see their change, then make yours."
                    ),
                    code="stale",
                )
        return data

    def full_clean(self) -> None:
        super().full_clean()
        # Bootstrap shows the message under a field only when the control is marked invalid.
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()

    def sections(self) -> Iterator[tuple[Any, list[forms.BoundField]]]:
        """The bound fields, grouped for the template."""
        for heading, names in self.SECTIONS:
            yield heading, [self[name] for name in names]
