"""The register's pages: the asset list, an asset's page and form, places, subnets and external
connections. Every page but the login page requires a signed-in user."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, ProtectedError, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from medshield.accounts.scoping import is_confined, visible_assets
from medshield.assets.models import Asset, Building, Floor, Rack, Room, Site
from medshield.core.models import ChangeAction, ObjectChange
from medshield.network.models import (
    ConnectionHop,
    ExternalConnection,
    Flow,
    Interface,
    IPAddress,
    Subnet,
)
from medshield.web.filters import AssetFilterForm, ordered_ids
from medshield.web.forms import AssetForm

PAGE_SIZE = 50
#: the asset page shows this many history entries, newest first
HISTORY_LIMIT = 200


def home(request: HttpRequest) -> HttpResponse:
    """The root URL opens the asset list (which sends anonymous users to the login page)."""
    return redirect("asset-list")


def _is_htmx_fragment(request: HttpRequest) -> bool:
    """An htmx request wants only the table, except when htmx restores a page from history after
    a cache miss: then it needs the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


# --- asset list ----------------------------------------------------------------------------------
@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    """Search, filter, sort and page through the assets.

    The number of queries is constant: the count, the 50 rows (with their place joined in), one
    query for those rows' IP addresses, and the few option lists of the filter form.
    """
    form = AssetFilterForm(request.GET)
    form.is_valid()
    assets = form.filter(
        visible_assets(request.user, Asset.objects.select_related("room__floor__building", "rack"))
    )
    if form.cleaned_data.get("q"):
        # A substring search scans the table whatever the indexes; scan it once for the matching
        # ids in display order and page through that list (counting, then fetching a page, would
        # scan it twice).
        paginator = Paginator(ordered_ids(assets, form.sort_order), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        rows = assets.in_bulk(page.object_list)
        page.object_list = [rows[pk] for pk in page.object_list]
    else:
        paginator = Paginator(assets, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
    _attach_first_ips(page)
    context: dict[str, Any] = {
        "nav": "assets",
        "form": form,
        "page": page,
        "sort": form.sort_order,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "room": form.cleaned_data.get("room"),
    }
    if _is_htmx_fragment(request):
        context["fragment"] = True
        response = render(request, "web/_asset_table.html", context)
    else:
        response = render(request, "web/asset_list.html", context)
    # The fragment and the full page share a URL; caches and the back button must not mix them.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _attach_first_ips(page: Page[Asset]) -> None:
    """Give each asset on the page ``first_ip`` (its lowest address by interface name) with one
    query for just these rows, instead of a subquery the database might run for every row."""
    assets: list[Asset] = list(page.object_list)
    page.object_list = assets
    rows = (
        IPAddress.objects.filter(interface__asset__in=[a.pk for a in assets])
        .order_by("interface__asset_id", "interface__name", "address")
        .values_list("interface__asset_id", "address")
    )
    first: dict[int, str] = {}
    for asset_id, address in rows:
        first.setdefault(asset_id, address)
    for asset in assets:
        asset.first_ip = first.get(asset.pk, "")  # type: ignore[attr-defined]


# --- asset page ----------------------------------------------------------------------------------
@dataclass
class InterfaceRow:
    """An interface with its addresses and where its cable goes."""

    interface: Interface
    addresses: list[IPAddress]
    #: the interface at the other end of the cable, if cabled
    peer: Interface | None = None
    #: True when ``peer`` is a switch port this interface is plugged into
    peer_is_switch_port: bool = False
    cable_label: str = ""


@dataclass
class HistoryEntry:
    """One recorded change with its (field label, old, new) rows ready for display."""

    change: ObjectChange
    is_related: bool
    rows: list[tuple[str, Any, Any]] = field(default_factory=list)


def _interface_rows(asset: Asset) -> list[InterfaceRow]:
    interfaces = (
        Interface.objects.filter(asset=asset)
        .select_related(
            "cable_a__b_interface__asset",
            "cable_b__a_interface__asset",
        )
        .prefetch_related(
            Prefetch(
                "ip_addresses",
                queryset=IPAddress.objects.select_related("subnet__vlan", "subnet__zone"),
            )
        )
        .order_by("name")
    )
    rows = []
    for interface in interfaces:
        row = InterfaceRow(interface, list(interface.ip_addresses.all()))
        cable_a = _reverse_one(interface, "cable_a")
        cable_b = _reverse_one(interface, "cable_b")
        if cable_a is not None:
            row.peer, row.peer_is_switch_port, row.cable_label = (
                cable_a.b_interface,
                True,
                cable_a.label,
            )
        elif cable_b is not None:
            row.peer, row.cable_label = cable_b.a_interface, cable_b.label
        rows.append(row)
    return rows


def _reverse_one(obj: Any, name: str) -> Any:
    """A reverse one-to-one or None: Django raises when it is absent, even after
    select_related() has found that nothing is there."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def _history(asset: Asset) -> list[HistoryEntry]:
    """Changes to the asset and to everything recorded as belonging to it (interfaces, IPs,
    cables), newest first."""
    asset_type = ContentType.objects.get_for_model(Asset)
    changes = (
        ObjectChange.objects.filter(
            Q(object_type=asset_type, object_id=asset.pk)
            | Q(related_type=asset_type, related_id=asset.pk)
        )
        .select_related("object_type")
        .order_by("-time", "-id")[:HISTORY_LIMIT]
    )
    entries = []
    for change in changes:
        model = change.object_type.model_class()
        rows = []
        # field_changes() keeps the order of change.changes, so the keys name its rows.
        for name, (label, old, new) in zip(change.changes, change.field_changes(), strict=True):
            if change.action == ChangeAction.CREATE and new in (None, "", False, []):
                # A creation records every field; the blank ones say nothing.
                continue
            rows.append((label, _choice_label(model, name, old), _choice_label(model, name, new)))
        is_related = not (change.object_type_id == asset_type.pk and change.object_id == asset.pk)
        entries.append(HistoryEntry(change, is_related, rows))
    return entries


def _choice_label(model: type | None, name: str, value: Any) -> Any:
    """The translated label of a stored choice value ("in_service" -> "稼働中")."""
    if model is None or value in (None, ""):
        return value
    try:
        model_field = model._meta.get_field(name)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a field removed since the change was recorded
        return value
    choices = dict(getattr(model_field, "flatchoices", None) or ())
    return choices.get(value, value)


@login_required
def asset_detail(request: HttpRequest, tag: str) -> HttpResponse:
    """Everything the register knows about one asset, with its history."""
    asset = get_object_or_404(
        visible_assets(
            request.user,
            Asset.objects.select_related("room__floor__building__site", "rack", "host"),
        ),
        asset_tag=tag,
    )
    connections: list[tuple[ExternalConnection, str]] = [
        (c, _("passes through this asset")) for c in asset.external_paths.all()
    ] + [(c, _("reaches this asset")) for c in asset.reached_by.all()]
    flows = Flow.objects.filter(Q(source=asset) | Q(destination=asset))
    interfaces = _interface_rows(asset)
    if is_confined(request.user):
        # A manufacturer sees its device, not the hospital's network around it.
        connections = []
        mine = visible_assets(request.user)
        flows = flows.filter(source__in=mine, destination__in=mine)
        seen = set(
            mine.filter(pk__in=[r.peer.asset_id for r in interfaces if r.peer]).values_list(
                "pk", flat=True
            )
        )
        for row in interfaces:
            if row.peer is not None and row.peer.asset_id not in seen:
                row.peer, row.cable_label = None, ""
    context = {
        "nav": "assets",
        "asset": asset,
        "interfaces": interfaces,
        "guests": visible_assets(request.user, asset.guests.order_by("name")),
        "connections": sorted(connections, key=lambda pair: pair[0].name),
        "flows": flows.select_related("source", "destination"),
        "history": _history(asset) if request.user.has_perm("accounts.view_history") else [],
        "history_limit": HISTORY_LIMIT,
    }
    return render(request, "web/asset_detail.html", context)


def _datalists() -> dict[str, Any]:
    """Existing departments and manufacturers, offered as suggestions to keep spelling uniform."""
    return {
        name: Asset.objects.exclude(**{name: ""})
        .order_by(name)
        .values_list(name, flat=True)
        .distinct()
        for name in ("department", "manufacturer")
    }


def _asset_form(request: HttpRequest, asset: Asset | None) -> HttpResponse:
    form = AssetForm(request.POST or None, instance=asset)
    with transaction.atomic():
        if asset is not None and request.method == "POST":
            # Hold the row while the form checks its version and saves (PostgreSQL; SQLite's
            # write transaction already excludes other writers).
            Asset.objects.select_for_update().filter(pk=asset.pk).first()
        valid = request.method == "POST" and form.is_valid()
        # save() goes through ChangeLoggedModel.save, which records the change under the user
        # that ChangeActorMiddleware set for this request.
        saved = form.save() if valid else None
    if saved is not None:
        if asset is None:
            messages.success(request, _("Asset {tag} created.").format(tag=saved.asset_tag))
        else:
            messages.success(request, _("Asset {tag} saved.").format(tag=saved.asset_tag))
        return redirect(saved)
    context = {"nav": "assets", "form": form, "asset": asset, "datalists": _datalists()}
    return render(request, "web/asset_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def asset_create(request: HttpRequest) -> HttpResponse:
    """Register a new asset."""
    return _asset_form(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: HttpRequest, tag: str) -> HttpResponse:
    """Edit an asset; its tag stays as it is."""
    return _asset_form(request, get_object_or_404(visible_assets(request.user), asset_tag=tag))


@login_required
@require_http_methods(["GET", "POST"])
def asset_delete(request: HttpRequest, tag: str) -> HttpResponse:
    """Confirm (GET) and delete (POST) an asset; refused while virtual guests still name it."""
    asset = get_object_or_404(visible_assets(request.user), asset_tag=tag)
    if request.method == "POST":
        try:
            # Interfaces, addresses and cables go with it; each deletion is recorded
            # (medshield.core.signals). A host with virtual guests is protected.
            with transaction.atomic():
                asset.delete()
        except ProtectedError:
            messages.error(
                request,
                _("{asset} cannot be deleted while other records refer to it.").format(asset=asset),
            )
            return redirect(asset)
        messages.success(request, _("Asset {tag} deleted.").format(tag=tag))
        return redirect("asset-list")
    return render(request, "web/asset_confirm_delete.html", {"nav": "assets", "asset": asset})


# --- places, subnets, connections ----------------------------------------------------------------
@dataclass
class PlaceNode:
    """A node of the place tree with the number of assets under it."""

    obj: Any
    children: list[PlaceNode] = field(default_factory=list)
    count: int = 0


@login_required
def place_tree(request: HttpRequest) -> HttpResponse:
    """Sites › buildings › floors › rooms › racks with asset counts at every level.

    Counts come from two grouped queries (assets per room and per rack) and are summed upwards in
    Python, so the page costs the same few queries however many places there are.
    """
    per_room = dict(
        Asset.objects.filter(room__isnull=False)
        .order_by()
        .values("room_id")
        .annotate(n=Count("id"))
        .values_list("room_id", "n")
    )
    per_rack = dict(
        Asset.objects.filter(rack__isnull=False)
        .order_by()
        .values("rack_id")
        .annotate(n=Count("id"))
        .values_list("rack_id", "n")
    )
    unplaced = Asset.objects.filter(room__isnull=True).count()

    racks_by_room: dict[int, list[PlaceNode]] = defaultdict(list)
    for rack in Rack.objects.order_by("name"):
        racks_by_room[rack.room_id].append(PlaceNode(rack, count=per_rack.get(rack.pk, 0)))
    rooms_by_floor: dict[int, list[PlaceNode]] = defaultdict(list)
    for room in Room.objects.order_by("code"):
        node = PlaceNode(room, racks_by_room[room.pk], per_room.get(room.pk, 0))
        rooms_by_floor[room.floor_id].append(node)
    floors_by_building: dict[int, list[PlaceNode]] = defaultdict(list)
    for floor in Floor.objects.order_by("-level"):
        children = rooms_by_floor[floor.pk]
        node = PlaceNode(floor, children, sum(c.count for c in children))
        floors_by_building[floor.building_id].append(node)
    buildings_by_site: dict[int, list[PlaceNode]] = defaultdict(list)
    for building in Building.objects.order_by("code"):
        children = floors_by_building[building.pk]
        node = PlaceNode(building, children, sum(c.count for c in children))
        buildings_by_site[building.site_id].append(node)
    sites = []
    for site in Site.objects.all():
        children = buildings_by_site[site.pk]
        sites.append(PlaceNode(site, children, sum(c.count for c in children)))
    context = {"nav": "places", "sites": sites, "unplaced": unplaced}
    return render(request, "web/place_tree.html", context)


@login_required
def subnet_list(request: HttpRequest) -> HttpResponse:
    """Every subnet with its VLAN, zone and the number of addresses in use."""
    subnets = Subnet.objects.select_related("vlan", "zone").annotate(used=Count("ip_addresses"))
    return render(request, "web/subnet_list.html", {"nav": "subnets", "subnets": subnets})


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    """Paths out of the hospital and the assets they pass through and reach."""
    connections = ExternalConnection.objects.prefetch_related(
        Prefetch("hops", queryset=ConnectionHop.objects.select_related("asset")),
        Prefetch("reaches", queryset=Asset.objects.order_by("name")),
    )
    context = {"nav": "connections", "connections": connections}
    return render(request, "web/connection_list.html", context)
