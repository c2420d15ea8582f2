"""Form widgets that stay fast on a large register."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """A <select> whose options are written in Python, not through one template per option.

    Django's Select renders every option through the template engine (about 100 µs each); the
    filters of a large hospital list thousands of floors and subnets, which made the asset list
    spend half a second on its drop-downs alone. Same markup, same escaping.
    """

    #: (value, label) pairs set by place_and_subnet_choices; used as they are, because Django's
    #: choices setter normalises every entry again on each assignment and copy
    plain_choices: list[tuple[Any, Any]] | None = None

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        values = value if isinstance(value, list | tuple) else [value]
        chosen = {str(v) for v in values if v not in (None, "")} or {""}
        # html.escape on each value and label: the same escaping format_html applies, at a
        # fraction of its cost per option.
        options = mark_safe(  # noqa: S308 - every piece is escaped here
            "".join(
                f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
                f"{escape(str(label))}</option>"
                for v, label in (
                    self.plain_choices if self.plain_choices is not None else self.choices
                )
            )
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


def use_fast_selects(form: forms.BaseForm) -> None:
    """Swap every plain Select of ``form`` for a :class:`FastSelect` with the same attributes."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            widget = FastSelect(attrs=field.widget.attrs)
            widget.choices = field.choices  # type: ignore[attr-defined]
            field.widget = widget


def as_id(raw: Any) -> int | None:
    """A database id from a URL parameter: ASCII digits of a size a key can have, else None
    (str.isdigit() accepts "²", and int() of 5,000 digits raises)."""
    if isinstance(raw, str) and _ID.fullmatch(raw):
        return int(raw)
    return None


_ID = re.compile(r"[0-9]{1,18}")

#: above this many floors the floor filter lists only the chosen building's floors
FLOOR_LIST_LIMIT = 200


def place_and_subnet_choices(form: forms.BaseForm, all_label: str, pick_building: str) -> None:
    """Fill the building, floor and subnet drop-downs of a filter form from plain column values.

    A ModelChoiceField builds one model instance per option; a large hospital has thousands of
    floors and subnets, and building them cost more than the page's queries. Validation still
    goes through each field's queryset (one lookup of the chosen id).
    """
    from medshield.assets.models import Building, Floor
    from medshield.network.models import Subnet

    def chosen(name: str) -> int | None:
        raw = form.data.get(name) if form.is_bound else None
        return as_id(raw)

    fields = form.fields
    if "building" in fields:
        buildings = Building.objects.order_by("site__code", "code").values_list("pk", "name")
        fields["building"].widget.plain_choices = [("", all_label), *buildings]
    if "floor" in fields:
        floors = Floor.objects.order_by("building__site__code", "building__code", "level")
        building = chosen("building")
        empty = all_label
        if building is not None:
            floors = floors.filter(building_id=building)
        rows = list(floors.values_list("pk", "building__name", "name")[: FLOOR_LIST_LIMIT + 1])
        if len(rows) > FLOOR_LIST_LIMIT:
            # Too many to list: pick a building first (a chosen floor stays shown).
            floor = chosen("floor")
            rows = list(floors.filter(pk=floor).values_list("pk", "building__name", "name"))
            empty = pick_building
        fields["floor"].widget.plain_choices = [
            ("", empty),
            *((pk, f"{b} {n}") for pk, b, n in rows),
        ]
    if "subnet" in fields:
        subnets = Subnet.objects.order_by("prefix").values_list("pk", "prefix", "name")
        fields["subnet"].widget.plain_choices = [
            ("", all_label),
            *((pk, f"{prefix} {name}".strip()) for pk, prefix, name in subnets),
        ]
