"""Places (site > building > floor > room > rack) and the assets that stand in them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Lower, LPad
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from medshield.assets.choices import (
    CLINICAL_KINDS,
    AssetKind,
    AssetStatus,
    Criticality,
    NetworkRole,
)
from medshield.core.models import ChangeLoggedModel


class Site(ChangeLoggedModel):
    """A hospital campus or other location with its own buildings."""

    code = models.SlugField(_("code"), max_length=50, unique=True, allow_unicode=True)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        renamed = not self._state.adding and (self._loaded or {}).get("code") != self.code
        super().save(*args, **kwargs)
        if renamed:
            refresh_derived(Asset.objects.filter(room__floor__building__site=self))


class Building(ChangeLoggedModel):
    """A building of a site."""

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="buildings"
    )
    code = models.SlugField(_("code"), max_length=50, allow_unicode=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["site__code", "code"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="building_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = self._loaded or {}
        renamed = not self._state.adding and (
            loaded.get("code") != self.code or loaded.get("site") != self.site_id
        )
        super().save(*args, **kwargs)
        if renamed:
            refresh_derived(Asset.objects.filter(room__floor__building=self))

    def changelog_parent(self) -> models.Model | None:
        return None


class Floor(ChangeLoggedModel):
    """A floor of a building; ``level`` orders floors (basements are negative)."""

    building = models.ForeignKey(
        Building, verbose_name=_("building"), on_delete=models.PROTECT, related_name="floors"
    )
    name = models.CharField(_("name"), max_length=50, help_text=_("As signed, e.g. 3F or B1"))
    level = models.IntegerField(_("level"), help_text=_("1 for the ground floor, -1 for B1"))

    class Meta:
        ordering = ["building__site__code", "building__code", "level"]
        verbose_name = _("floor")
        verbose_name_plural = _("floors")
        constraints = [
            models.UniqueConstraint(fields=["building", "name"], name="floor_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.building.name} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = self._loaded or {}
        renamed = not self._state.adding and (
            loaded.get("level") != self.level or loaded.get("building") != self.building_id
        )
        super().save(*args, **kwargs)
        if renamed:
            refresh_derived(Asset.objects.filter(room__floor=self))


class Room(ChangeLoggedModel):
    """A room on a floor: a ward, an examination room, a server room..."""

    floor = models.ForeignKey(
        Floor, verbose_name=_("floor"), on_delete=models.PROTECT, related_name="rooms"
    )
    code = models.CharField(_("code"), max_length=50, help_text=_("Room number, e.g. 301"))
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["floor__building__site__code", "floor__building__code", "floor__level", "code"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [
            models.UniqueConstraint(fields=["floor", "code"], name="room_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.floor} {self.code} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = self._loaded or {}
        renamed = not self._state.adding and (
            loaded.get("code") != self.code or loaded.get("floor") != self.floor_id
        )
        super().save(*args, **kwargs)
        if renamed:
            refresh_derived(Asset.objects.filter(room=self))

    @property
    def path(self) -> str:
        """Site/building/floor/room, the key the importer resolves."""
        building = self.floor.building
        return f"{building.site.code}/{building.code}/{self.floor.name}/{self.code}"


class Rack(ChangeLoggedModel):
    """An equipment rack in a room (optional for an asset)."""

    room = models.ForeignKey(
        Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="racks"
    )
    name = models.CharField(_("name"), max_length=50)
    u_height = models.PositiveSmallIntegerField(_("height (U)"), default=42)

    class Meta:
        ordering = ["room__code", "name"]
        verbose_name = _("rack")
        verbose_name_plural = _("racks")
        constraints = [
            models.UniqueConstraint(fields=["room", "name"], name="rack_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.room} {self.name}"


#: the fields a person edits on an asset (after its tag), in the order forms and the API show them
ASSET_EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "kind",
    "status",
    "manufacturer",
    "model",
    "serial_number",
    "software_version",
    "department",
    "owner",
    "criticality",
    "handles_patient_data",
    "support_contact",
    "network_role",
    "hostname",
    "role",
    "is_virtual",
    "host",
    "room",
    "rack",
    "notes",
)


class Asset(ChangeLoggedModel):
    """Anything on the hospital network: a medical device or system, a server, a switch, a PC...

    ``asset_tag`` is the stable key the importer matches on. Medical devices and medical
    information systems carry the clinical fields; servers carry hostname, role and (when
    virtual) their host; network devices carry their network role.
    """

    asset_tag = models.CharField(
        _("asset tag"),
        max_length=64,
        unique=True,
        help_text=_("The hospital's own stable identifier, e.g. ME-000123"),
        validators=[
            RegexValidator(
                r"^[^/\\?#%\s]+\Z",
                _("An asset tag has no spaces and none of / \\ ? # %%."),
                code="invalid_tag",
            )
        ],
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AssetKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=AssetStatus.choices, default=AssetStatus.IN_SERVICE
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    model = models.CharField(_("model"), max_length=200, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    software_version = models.CharField(_("software/firmware version"), max_length=100, blank=True)
    department = models.CharField(_("clinical department"), max_length=100, blank=True)
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    criticality = models.CharField(
        _("clinical criticality"), max_length=20, choices=Criticality.choices, blank=True
    )
    handles_patient_data = models.BooleanField(_("stores or handles patient data"), default=False)
    support_contact = models.CharField(
        _("manufacturer support contact"), max_length=300, blank=True
    )
    network_role = models.CharField(
        _("network role"), max_length=30, choices=NetworkRole.choices, blank=True
    )
    hostname = models.CharField(_("hostname"), max_length=253, blank=True)
    role = models.CharField(
        _("role"), max_length=200, blank=True, help_text=_("e.g. PACS image store, core switch")
    )
    is_virtual = models.BooleanField(_("virtual"), default=False)
    host = models.ForeignKey(
        "self",
        verbose_name=_("virtualisation host"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guests",
    )
    room = models.ForeignKey(
        Room,
        verbose_name=_("room"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assets",
    )
    rack = models.ForeignKey(
        Rack,
        verbose_name=_("rack"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assets",
    )
    notes = models.TextField(_("notes"), blank=True)
    #: site/building/floor/room as one sortable key, kept by refresh_derived(); derived, so
    #: not in the history. The asset list sorts by place through its index instead of joining
    #: five tables and sorting 100,000 rows.
    place_sort = models.CharField(max_length=250, blank=True, default="", editable=False)
    #: the identifying columns lowercased in one text, kept by refresh_derived(): the search box
    #: tests one column per row instead of six.
    search_text = models.TextField(blank=True, default="", editable=False)

    changelog_exclude = ChangeLoggedModel.changelog_exclude | {"place_sort", "search_text"}

    class Meta:
        ordering = ["asset_tag"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        # (column, asset_tag): the asset list sorts by a column with the tag as tie-breaker and
        # filters on these columns; one index serves both at 100,000 assets.
        indexes = [
            models.Index(fields=["name", "asset_tag"], name="asset_name_tag"),
            models.Index(fields=["kind", "asset_tag"], name="asset_kind_tag"),
            models.Index(fields=["department", "asset_tag"], name="asset_department_tag"),
            models.Index(fields=["criticality", "asset_tag"], name="asset_criticality_tag"),
            models.Index(fields=["manufacturer", "asset_tag"], name="asset_manufacturer_tag"),
            models.Index(fields=["model", "asset_tag"], name="asset_model_tag"),
            models.Index(fields=["status", "asset_tag"], name="asset_status_tag"),
            models.Index(fields=["place_sort", "asset_tag"], name="asset_place_tag"),
            models.Index(Lower("name"), name="asset_name_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.asset_tag})"

    def get_absolute_url(self) -> str:
        return reverse("asset-detail", args=[self.asset_tag])

    @property
    def is_clinical(self) -> bool:
        return self.kind in CLINICAL_KINDS

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.asset_tag.lower() == "new":
            errors["asset_tag"] = _("'new' is reserved; choose another asset tag.")
        if self.rack_id and not self.room_id:
            self.room_id = self.rack.room_id
        if self.rack_id and self.rack.room_id != self.room_id:
            errors["rack"] = _("The rack stands in another room than the asset.")
        if self.network_role and self.kind != AssetKind.NETWORK_DEVICE:
            errors["network_role"] = _("Only a network device has a network role.")
        if self.kind == AssetKind.NETWORK_DEVICE and not self.network_role:
            errors["network_role"] = _("Say what kind of network device this is.")
        if self.is_virtual and self.kind != AssetKind.SERVER:
            errors["is_virtual"] = _("Only a server can be virtual.")
        if self.host_id:
            if not self.is_virtual:
                errors["host"] = _("Only a virtual server runs on a host.")
            elif self.host_id == self.pk:
                errors["host"] = _("A server cannot be its own host.")
            elif self.host.is_virtual or self.host.kind != AssetKind.SERVER:
                errors["host"] = _("The host must be a physical server.")
        if self.criticality and not self.is_clinical:
            errors["criticality"] = _(
                "Clinical criticality applies to medical devices and systems only."
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        before = self._loaded or {}
        stale = self._state.adding or any(
            before.get(name) != getattr(self, field)
            for name, field in (("room", "room_id"), *((n, n) for n in SEARCHED))
        )
        super().save(*args, **kwargs)
        if stale:
            refresh_derived(Asset.objects.filter(pk=self.pk))


#: the columns the search box looks in (besides interfaces' IP and MAC addresses)
SEARCHED = ("asset_tag", "name", "model", "manufacturer", "serial_number", "hostname")


def refresh_derived(assets: models.QuerySet[Asset] | None = None) -> int:
    """Recompute ``Asset.place_sort`` (site code, building code, floor level, room code) and
    ``Asset.search_text`` for ``assets`` (all when None) in one UPDATE; returns the row count.

    Both are computed by the database, so the web form, the importer's bulk writes and a rename
    of a room all produce the same values."""
    key = (
        Room.objects.filter(pk=OuterRef("room_id"))
        .annotate(
            key=Concat(
                "floor__building__site__code",
                Value("\x1f"),
                "floor__building__code",
                Value("\x1f"),
                # levels from -999 to 8999 sort as text once shifted and zero-padded
                LPad(Cast(F("floor__level") + 1000, models.CharField()), 4, Value("0")),
                Value("\x1f"),
                "code",
                output_field=models.CharField(),
            )
        )
        .values("key")[:1]
    )
    searched: list[Any] = []
    for name in SEARCHED:
        searched += [name, Value("\n")]
    queryset = Asset.objects.all() if assets is None else assets
    return queryset.update(
        place_sort=Coalesce(Subquery(key), Value("")),
        search_text=Lower(Concat(*searched[:-1], output_field=models.TextField())),
    )
