"""The register's resources: places, assets and the network, read and written through the API."""

# No `from __future__ import annotations`: pydantic reads the filter schemas' annotations.

from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import Field

from medshield.accounts.scoping import manufacturer_of, visible_assets
from medshield.api.crud import Extra, ListQuery, Resource, add_routes
from medshield.api.errors import ApiError
from medshield.api.fields import AssetTag, Id, filter_address, text
from medshield.api.scope import hanging_off_assets, is_confined
from medshield.assets.choices import AssetKind, AssetStatus, Criticality
from medshield.assets.models import (
    ASSET_EDITABLE_FIELDS,
    Asset,
    Building,
    Floor,
    Rack,
    Room,
    Site,
)
from medshield.network.choices import ConnectionKind
from medshield.network.models import (
    VLAN,
    Cable,
    ConnectionHop,
    ExternalConnection,
    Flow,
    Interface,
    IPAddress,
    Subnet,
    Zone,
)
from medshield.web.filters import search_q

Search = text(200)


def _all(model: Any, *related: str) -> Any:
    def queryset(user: Any) -> QuerySet[Any]:
        qs = model.objects.all()
        return qs.select_related(*related) if related else qs

    return queryset


# --- places -----------------------------------------------------------------------------------
class SiteQuery(ListQuery):
    q: Search | None = Field(None, description="Code or name contains")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(Q(code__icontains=self.q) | Q(name__icontains=self.q))
        return queryset


class BuildingQuery(ListQuery):
    site: Id | None = None
    q: Search | None = Field(None, description="Code or name contains")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.site:
            queryset = queryset.filter(site_id=self.site)
        if self.q:
            queryset = queryset.filter(Q(code__icontains=self.q) | Q(name__icontains=self.q))
        return queryset


class FloorQuery(ListQuery):
    building: Id | None = None
    site: Id | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.building:
            queryset = queryset.filter(building_id=self.building)
        if self.site:
            queryset = queryset.filter(building__site_id=self.site)
        return queryset


class RoomQuery(ListQuery):
    floor: Id | None = None
    building: Id | None = None
    site: Id | None = None
    q: Search | None = Field(None, description="Code or name contains")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.floor:
            queryset = queryset.filter(floor_id=self.floor)
        if self.building:
            queryset = queryset.filter(floor__building_id=self.building)
        if self.site:
            queryset = queryset.filter(floor__building__site_id=self.site)
        if self.q:
            queryset = queryset.filter(Q(code__icontains=self.q) | Q(name__icontains=self.q))
        return queryset


class RackQuery(ListQuery):
    room: Id | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        return queryset.filter(room_id=self.room) if self.room else queryset


# --- assets -----------------------------------------------------------------------------------
class AssetQuery(ListQuery):
    q: Search | None = Field(
        None, description="Tag, name, model, manufacturer, serial, hostname, IP or MAC contains"
    )
    kind: AssetKind | None = None
    status: AssetStatus | None = None
    criticality: Criticality | None = None
    manufacturer: text(200) | None = Field(None, description="Exact, ignoring case")
    model: text(200) | None = Field(None, description="Exact, ignoring case")
    department: text(100) | None = None
    handles_patient_data: bool | None = None
    subnet: Id | None = Field(None, description="Assets with an address in this subnet")
    room: Id | None = None
    site: Id | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(search_q(self.q))
        for name in ("kind", "status", "criticality", "department", "handles_patient_data"):
            value = getattr(self, name)
            if value is not None and value != "":
                queryset = queryset.filter(**{name: value})
        if self.manufacturer:
            queryset = queryset.filter(manufacturer__iexact=self.manufacturer)
        if self.model:
            queryset = queryset.filter(model__iexact=self.model)
        if self.subnet:
            in_subnet = IPAddress.objects.filter(subnet=self.subnet)
            queryset = queryset.filter(pk__in=in_subnet.values("interface__asset_id"))
        if self.room:
            queryset = queryset.filter(room_id=self.room)
        if self.site:
            queryset = queryset.filter(room__floor__building__site_id=self.site)
        return queryset


def _place_sql() -> str:
    """The asset's room as site/building/floor/room, as a subquery: one column per row rather
    than four model objects, and cheap to compile for a single object too."""
    from medshield.assets.models import Building, Floor, Room, Site

    return (
        f"SELECT s.code || '/' || b.code || '/' || f.name || '/' || r.code "  # noqa: S608
        f"FROM {Room._meta.db_table} r "
        f"JOIN {Floor._meta.db_table} f ON f.id = r.floor_id "
        f"JOIN {Building._meta.db_table} b ON b.id = f.building_id "
        f"JOIN {Site._meta.db_table} s ON s.id = b.site_id "
        f"WHERE r.id = {Asset._meta.db_table}.room_id"
    )


def _assets(user: Any) -> QuerySet[Asset]:
    # The host's tag and the place are all a response shows of them (see fields.output_getter).
    return visible_assets(user).annotate(
        place_path=RawSQL(_place_sql(), ()),  # noqa: S611 - table names only, no input
        host_tag=F("host__asset_tag"),
    )


def _check_asset(asset: Asset, data: dict[str, Any], user: Any) -> None:
    """A manufacturer's login may only write assets it will still see: its own make."""
    maker = manufacturer_of(user)
    if maker is not None and asset.manufacturer.strip().lower() != maker.lower():
        raise ApiError(
            403,
            "other_manufacturer",
            _("Your login may only register and edit assets of {maker}.").format(maker=maker),
        )


def _place(asset: Asset, user: Any) -> str | None:
    if not asset.room_id:
        return None
    annotated = getattr(asset, "place_path", None)
    return annotated if annotated is not None else asset.room.path


# --- network ----------------------------------------------------------------------------------
class ZoneQuery(SiteQuery):
    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(name__icontains=self.q)
        return queryset


class VlanQuery(ListQuery):
    site: Id | None = None
    vid: int | None = Field(None, ge=1, le=4094)

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.site:
            queryset = queryset.filter(site_id=self.site)
        if self.vid:
            queryset = queryset.filter(vid=self.vid)
        return queryset


class SubnetQuery(ListQuery):
    q: Search | None = Field(None, description="Prefix or name contains")
    zone: Id | None = None
    vlan: Id | None = None

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(Q(prefix__icontains=self.q) | Q(name__icontains=self.q))
        if self.zone:
            queryset = queryset.filter(zone_id=self.zone)
        if self.vlan:
            queryset = queryset.filter(vlan_id=self.vlan)
        return queryset


class InterfaceQuery(ListQuery):
    asset: AssetTag | None = None
    mac: text(17) | None = Field(None, description="MAC address (any notation)")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.asset:
            queryset = queryset.filter(asset__asset_tag=self.asset)
        if self.mac:
            from medshield.network.models import normalise_mac

            try:
                queryset = queryset.filter(mac=normalise_mac(self.mac))
            except ValueError:
                queryset = queryset.none()
        return queryset


class IPAddressQuery(ListQuery):
    asset: AssetTag | None = None
    interface: Id | None = None
    subnet: Id | None = None
    address: text(45) | None = Field(None, description="Exact address")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.asset:
            queryset = queryset.filter(interface__asset__asset_tag=self.asset)
        if self.interface:
            queryset = queryset.filter(interface_id=self.interface)
        if self.subnet:
            queryset = queryset.filter(subnet_id=self.subnet)
        if self.address:
            queryset = filter_address(queryset, "address", self.address)
        return queryset


class CableQuery(ListQuery):
    asset: AssetTag | None = Field(None, description="Cables with an end on this asset")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.asset:
            queryset = queryset.filter(
                Q(a_interface__asset__asset_tag=self.asset)
                | Q(b_interface__asset__asset_tag=self.asset)
            )
        return queryset


class ConnectionQuery(ListQuery):
    q: Search | None = Field(None, description="Name, provider or peer contains")
    kind: ConnectionKind | None = None
    asset: AssetTag | None = Field(None, description="Connections passing or reaching it")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.q:
            queryset = queryset.filter(
                Q(name__icontains=self.q)
                | Q(provider__icontains=self.q)
                | Q(peer__icontains=self.q)
            )
        if self.kind:
            queryset = queryset.filter(kind=self.kind)
        if self.asset:
            hops = ExternalConnection.objects.filter(
                Q(through__asset_tag=self.asset) | Q(reaches__asset_tag=self.asset)
            )
            queryset = queryset.filter(pk__in=hops.values("pk"))
        return queryset


class FlowQuery(ListQuery):
    asset: AssetTag | None = Field(None, description="Flows from or to this asset")
    source: AssetTag | None = None
    destination: AssetTag | None = None
    protocol: text(30) | None = Field(None, description="Exact, ignoring case")

    def apply(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        if self.asset:
            queryset = queryset.filter(
                Q(source__asset_tag=self.asset) | Q(destination__asset_tag=self.asset)
            )
        if self.source:
            queryset = queryset.filter(source__asset_tag=self.source)
        if self.destination:
            queryset = queryset.filter(destination__asset_tag=self.destination)
        if self.protocol:
            queryset = queryset.filter(protocol__iexact=self.protocol)
        return queryset


def _connections(user: Any) -> QuerySet[ExternalConnection]:
    # The path and the reached assets of a page of connections in two queries, not two per row,
    # each asset read as the tag the response shows.
    queryset = ExternalConnection.objects.prefetch_related(
        Prefetch(
            "hops",
            ConnectionHop.objects.select_related("asset").only(
                "connection_id", "position", "asset__asset_tag"
            ),
        ),
        Prefetch("reaches", Asset.objects.only("asset_tag")),
    )
    if is_confined(user):
        queryset = hanging_off_assets(queryset, user, "through", "reaches")
    return queryset


def _visible_only(assets: list[Asset], user: Any) -> list[Asset]:
    """``assets`` less those ``user`` may not see (a manufacturer's login sees its own only)."""
    if not is_confined(user):
        return assets
    visible = set(
        visible_assets(user).filter(pk__in=[a.pk for a in assets]).values_list("pk", flat=True)
    )
    return [a for a in assets if a.pk in visible]


def _path_tags(connection: ExternalConnection, user: Any) -> list[str]:
    hops = sorted(connection.hops.all(), key=lambda hop: hop.position)
    return [a.asset_tag for a in _visible_only([hop.asset for hop in hops], user)]


def _reached_tags(connection: ExternalConnection, user: Any) -> list[str]:
    return sorted(a.asset_tag for a in _visible_only(list(connection.reaches.all()), user))


MAX_PATH = 100
TagList = list[AssetTag]


def _resolve_tags(user: Any, name: str, tags: list[str]) -> list[Asset]:
    from django.core.exceptions import ValidationError

    if len(tags) > MAX_PATH:
        raise ValidationError({name: _("At most {n} assets.").format(n=MAX_PATH)})
    if len(set(tags)) != len(tags):
        raise ValidationError({name: _("An asset is listed twice.")})
    found = {a.asset_tag: a for a in visible_assets(user).filter(asset_tag__in=tags)}
    missing = [tag for tag in tags if tag not in found]
    if missing:
        raise ValidationError({name: _("No asset {tags}.").format(tags=", ".join(missing[:10]))})
    return [found[tag] for tag in tags]


def _check_connection(connection: ExternalConnection, data: dict[str, Any], user: Any) -> None:
    from django.core.exceptions import ValidationError

    errors: dict[str, Any] = {}
    for name in ("through", "reaches"):
        if name in data and data[name] is not None:
            try:
                data[f"_{name}"] = _resolve_tags(user, name, data[name])
            except ValidationError as exc:
                errors.update(exc.message_dict)
        elif name in data:
            errors[name] = [_("Give a list of asset tags (an empty list for none).")]
    if errors:
        raise ValidationError(errors)
    if is_confined(user) and ("through" in data or "reaches" in data):
        raise ApiError(
            403,
            "confined",
            _("A manufacturer's login cannot change the path of an external connection."),
        )


def _save_connection_path(connection: ExternalConnection, data: dict[str, Any], user: Any) -> None:
    if "_through" not in data and "_reaches" not in data:
        return
    through = data.get("_through", connection.path())
    reaches = data.get("_reaches", list(connection.reaches.all()))
    connection.set_assets(through=through, reaches=reaches)


RESOURCES: tuple[Resource, ...] = (
    Resource(
        model=Site,
        path="sites",
        name="site",
        tag="places",
        filters=SiteQuery,
        queryset=_all(Site),
        fields=("code", "name", "address"),
    ),
    Resource(
        model=Building,
        path="buildings",
        name="building",
        tag="places",
        filters=BuildingQuery,
        queryset=_all(Building),
        fields=("site", "code", "name"),
    ),
    Resource(
        model=Floor,
        path="floors",
        name="floor",
        tag="places",
        filters=FloorQuery,
        queryset=_all(Floor),
        fields=("building", "name", "level"),
    ),
    Resource(
        model=Room,
        path="rooms",
        name="room",
        tag="places",
        filters=RoomQuery,
        queryset=_all(Room, "floor__building__site"),
        fields=("floor", "code", "name"),
        extras=(Extra("path", str, lambda room, user: room.path),),
    ),
    Resource(
        model=Rack,
        path="racks",
        name="rack",
        tag="places",
        filters=RackQuery,
        queryset=_all(Rack),
        fields=("room", "name", "u_height"),
    ),
    Resource(
        model=Asset,
        path="assets",
        name="asset",
        tag="assets",
        filters=AssetQuery,
        queryset=_assets,
        lookup="asset_tag",
        create_only=("asset_tag",),
        fields=ASSET_EDITABLE_FIELDS,
        extras=(Extra("place", str | None, _place),),
        check=_check_asset,
        doc="A manufacturer's login sees only its own make's assets.",
    ),
    Resource(
        model=Zone,
        path="zones",
        name="zone",
        tag="network",
        filters=ZoneQuery,
        queryset=_all(Zone),
        fields=("name", "description"),
    ),
    Resource(
        model=VLAN,
        path="vlans",
        name="vlan",
        tag="network",
        filters=VlanQuery,
        queryset=_all(VLAN),
        fields=("site", "vid", "name"),
    ),
    Resource(
        model=Subnet,
        path="subnets",
        name="subnet",
        tag="network",
        filters=SubnetQuery,
        queryset=_all(Subnet),
        fields=("prefix", "name", "vlan", "zone", "gateway", "description"),
    ),
    Resource(
        model=Interface,
        path="interfaces",
        name="interface",
        tag="network",
        filters=InterfaceQuery,
        queryset=lambda user: hanging_off_assets(
            Interface.objects.select_related("asset"), user, "asset"
        ),
        fields=("asset", "name", "mac"),
    ),
    Resource(
        model=IPAddress,
        path="ip-addresses",
        name="ip-address",
        tag="network",
        filters=IPAddressQuery,
        queryset=lambda user: hanging_off_assets(
            IPAddress.objects.select_related("interface__asset"), user, "interface__asset"
        ),
        fields=("interface", "address", "subnet"),
        doc="Without a subnet, an address is placed in the narrowest subnet that holds it.",
    ),
    Resource(
        model=Cable,
        path="cables",
        name="cable",
        tag="network",
        filters=CableQuery,
        queryset=lambda user: hanging_off_assets(
            Cable.objects.all(), user, "a_interface__asset", "b_interface__asset"
        ),
        fields=("a_interface", "b_interface", "cable_type", "label"),
    ),
    Resource(
        model=ExternalConnection,
        path="connections",
        name="connection",
        tag="network",
        filters=ConnectionQuery,
        queryset=_connections,
        fields=("name", "kind", "provider", "method", "peer", "settings"),
        extras=(
            Extra("through", list[str], _path_tags, TagList, []),
            Extra("reaches", list[str], _reached_tags, TagList, []),
        ),
        check=_check_connection,
        after_save=_save_connection_path,
        doc="`through` lists the gateways and firewalls in order from the outside in.",
    ),
    Resource(
        model=Flow,
        path="flows",
        name="flow",
        tag="network",
        filters=FlowQuery,
        queryset=lambda user: hanging_off_assets(
            Flow.objects.select_related("source", "destination"), user, "source", "destination"
        ),
        fields=("source", "destination", "protocol", "port", "transport", "purpose"),
    ),
)


def router() -> Router:
    result = Router()
    for resource in RESOURCES:
        add_routes(result, resource)
    return result
