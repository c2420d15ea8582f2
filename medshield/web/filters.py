"""The asset list's search box, filters and sort order, as one form that narrows a queryset.

Every clause stays cheap at 100,000 assets: plain columns are matched on the asset row itself and
anything on interfaces or IP addresses goes through ``EXISTS`` subqueries, so the list never joins
into tables that would duplicate rows and force a ``DISTINCT``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from medshield.assets.choices import AssetKind, AssetStatus, Criticality
from medshield.assets.models import Asset, Building, Floor, Room
from medshield.network.models import Interface, IPAddress, Subnet, normalise_mac
from medshield.web.widgets import place_and_subnet_choices, use_fast_selects

#: text that could be the start of an IPv4 or IPv6 address ("10.1.", "fe80::")
_IP_LIKE = re.compile(r"^[0-9a-f]*[.:][0-9a-f.:]*$", re.IGNORECASE)
#: text that could be part of a MAC address in any common spelling ("00:1a:2b", "001a.2b3c")
_MAC_LIKE = re.compile(r"^[0-9a-f]{2}([:\-.]?[0-9a-f]{2})+$", re.IGNORECASE)

#: rank clinical criticality by severity rather than by its stored (alphabetical) value
_CRITICALITY_RANK = Case(
    When(criticality=Criticality.LIFE_SUSTAINING, then=Value(0)),
    When(criticality=Criticality.TREATMENT, then=Value(1)),
    When(criticality=Criticality.DIAGNOSTIC, then=Value(2)),
    When(criticality=Criticality.SUPPORT, then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)

#: sort key in the URL -> ordering expressions; nothing else from the URL reaches order_by()
SORT_KEYS: dict[str, tuple[Any, ...]] = {
    "tag": ("asset_tag",),
    "name": ("name",),
    "kind": ("kind",),
    "manufacturer": ("manufacturer",),
    "model": ("model",),
    "department": ("department",),
    "criticality": (_CRITICALITY_RANK,),
    # site code, building code, floor level, room code, kept on the asset for its index
    "place": ("place_sort",),
}
DEFAULT_SORT = "tag"


def _descending(expression: Any) -> Any:
    if isinstance(expression, str):
        return f"-{expression}"
    return expression.desc()


def order_assets(queryset: QuerySet[Asset], sort: str) -> QuerySet[Asset]:
    """Order by a whitelisted key ("name", "-name"...), ending with the unique asset tag so that
    rows with equal keys keep a stable place across pages."""
    key = sort.removeprefix("-")
    if key not in SORT_KEYS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    expressions = list(SORT_KEYS[key])
    if key != "tag":
        expressions.append("asset_tag")
    if sort.startswith("-"):
        # The tie-breaker runs the same way as the key, so one (column, asset_tag) index serves
        # both directions; mixed directions make the database sort every matching row.
        expressions = [_descending(e) for e in expressions]
    return queryset.order_by(*expressions)


def ordered_ids(queryset: QuerySet[Asset], sort: str) -> list[int]:
    """The ids of ``queryset`` in the order :func:`order_assets` gives, sorted here.

    For a substring search: the database would walk the sort column's index and test every row
    it reaches in index order (twice as slow as a plain scan); a scan returns the few matches
    with their sort keys and Python orders them the same way (nulls first, as SQLite does).
    """
    key = sort.removeprefix("-")
    if key not in SORT_KEYS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    expressions = [*SORT_KEYS[key], *([] if key == "tag" else ["asset_tag"])]
    keys = {f"sortkey{i}": F(e) if isinstance(e, str) else e for i, e in enumerate(expressions)}
    rows = queryset.order_by().annotate(**keys).values_list("pk", *keys)
    ordered = sorted(
        rows,
        key=lambda row: tuple((v is not None, v) for v in row[1:]),
        reverse=sort.startswith("-"),
    )
    return [row[0] for row in ordered]


class FloorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.building.name} {obj.name}"


class AssetFilterForm(forms.Form):
    """GET parameters of the asset list. Invalid values are dropped rather than reported."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Tag, name, model, serial, host name, IP or MAC"),
                "autocomplete": "off",
            }
        ),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *AssetKind.choices]
    )
    building = forms.ModelChoiceField(
        label=_("Building"),
        required=False,
        queryset=Building.objects.all(),
        empty_label=_("All"),
    )
    floor = FloorChoiceField(
        label=_("Floor"),
        required=False,
        queryset=Floor.objects.select_related("building"),
        empty_label=_("All"),
    )
    department = forms.ChoiceField(label=_("Department"), required=False)
    subnet = forms.ModelChoiceField(
        label=_("Subnet"),
        required=False,
        queryset=Subnet.objects.all(),
        empty_label=_("All"),
    )
    criticality = forms.ChoiceField(
        label=_("Criticality"),
        required=False,
        choices=[("", _("All")), *Criticality.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *AssetStatus.choices]
    )
    # Set by the place tree's room links; shown as a removable chip rather than a select because a
    # hospital has too many rooms for a drop-down.
    room = forms.ModelChoiceField(
        required=False,
        queryset=Room.objects.select_related("floor__building"),
        widget=forms.HiddenInput,
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Departments are free text; the distinct values come from the indexed column.
        departments = (
            Asset.objects.exclude(department="")
            .order_by("department")
            .values_list("department", flat=True)
            .distinct()
        )
        self.fields["department"].choices = [
            ("", _("All")),
            *((d, d) for d in departments),
        ]
        for field in self.fields.values():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} {css}-sm")
        use_fast_selects(self)
        place_and_subnet_choices(self, _("All"), _("Choose a building first"))
        # A new building brings its own floors: reload the whole form, not only the table.
        self.fields["building"].widget.attrs["data-reload"] = "true"

    def full_clean(self) -> None:
        super().full_clean()
        # A stale bookmark or a deleted building must not turn the whole list into an error page:
        # keep the valid filters and forget the invalid ones.
        for name in list(self.errors):
            self.cleaned_data.pop(name, None)
        self._errors = ErrorDict()

    @property
    def sort_order(self) -> str:
        sort = self.cleaned_data.get("sort") or DEFAULT_SORT
        return sort if sort.removeprefix("-") in SORT_KEYS else DEFAULT_SORT

    @property
    def active(self) -> bool:
        """Whether any filter or search narrows the list (the sort order does not count)."""
        return any(v not in (None, "") for k, v in self.cleaned_data.items() if k != "sort")

    def filter(self, queryset: QuerySet[Asset]) -> QuerySet[Asset]:
        """Apply the search and every valid filter, then the sort order."""
        data = self.cleaned_data
        if q := (data.get("q") or "").strip():
            queryset = queryset.filter(search_q(q))
        for name in ("kind", "department", "criticality", "status"):
            if data.get(name):
                queryset = queryset.filter(**{name: data[name]})
        if data.get("building"):
            queryset = queryset.filter(room__floor__building=data["building"])
        if data.get("floor"):
            queryset = queryset.filter(room__floor=data["floor"])
        if data.get("room"):
            queryset = queryset.filter(room=data["room"])
        if data.get("subnet"):
            # An uncorrelated IN (...) rather than EXISTS: without statistics SQLite drives a
            # correlated subquery from the subnet index and rescans the subnet's addresses for
            # every asset (minutes at 100,000 assets); IN is evaluated once, on both databases.
            in_subnet = IPAddress.objects.filter(subnet=data["subnet"])
            queryset = queryset.filter(pk__in=in_subnet.values("interface__asset_id"))
        return order_assets(queryset, self.sort_order)


def search_q(text: str) -> Q:
    """The search box: substring of the asset's own identifying columns, or an interface's IP
    address (prefix match) or MAC address. The interface clauses are only added when the text
    looks like an address, so a plain name search never touches the interface tables."""
    # search_text holds those columns lowercased by the database (see refresh_derived); Python
    # lowercases the query. On SQLite, whose LOWER() folds ASCII only, a full-width capital in a
    # register value still matches only when typed in the same case.
    q = Q(search_text__contains=text.lower())
    if _IP_LIKE.match(text):
        q |= Exists(
            IPAddress.objects.filter(interface__asset=OuterRef("pk"), address__startswith=text)
        )
    if _MAC_LIKE.match(text):
        try:
            mac = Q(mac__iexact=normalise_mac(text))
        except ValueError:
            # A partial MAC: interfaces store the normalised colon-separated form.
            digits = re.sub(r"[:\-.]", "", text.lower())
            pairs = ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))
            mac = Q(mac__icontains=pairs)
        q |= Exists(Interface.objects.filter(mac, asset=OuterRef("pk")))
    return q
