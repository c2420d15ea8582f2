"""How assets are addressed and wired: zones, VLANs, subnets, interfaces, IPs, cabling, and the
external connections (internet, remote maintenance, VPN) that leave the hospital."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from medshield.assets.models import Asset, Site
from medshield.core.models import ChangeAction, ChangeLoggedModel, change_record
from medshield.network.choices import CableType, ConnectionKind, ConnectionMethod, Transport

_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")


def normalise_mac(value: str) -> str:
    """``00-1A-2b:3c.4D5e`` → ``00:1a:2b:3c:4d:5e``; raises ValueError when it is not a MAC."""
    digits = re.sub(r"[\s:\-.]", "", value).lower()
    if not _MAC_HEX.match(digits):
        raise ValueError(value)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def validate_mac(value: str) -> None:
    try:
        normalise_mac(value)
    except ValueError:
        raise ValidationError(
            _("%(value)s is not a MAC address (expected e.g. 00:1a:2b:3c:4d:5e)."),
            params={"value": value},
            code="invalid_mac",
        ) from None


class Zone(ChangeLoggedModel):
    """A security zone: a group of subnets with the same trust (medical devices, DMZ, guest...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")

    def __str__(self) -> str:
        return self.name


class VLAN(ChangeLoggedModel):
    """An IEEE 802.1Q VLAN of a site."""

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="vlans"
    )
    vid = models.PositiveSmallIntegerField(_("VLAN ID"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["site__code", "vid"]
        verbose_name = _("VLAN")
        verbose_name_plural = _("VLANs")
        constraints = [
            models.UniqueConstraint(fields=["site", "vid"], name="vlan_unique_vid"),
        ]

    def __str__(self) -> str:
        return f"VLAN {self.vid} {self.name}"

    def clean(self) -> None:
        if not 1 <= self.vid <= 4094:
            raise ValidationError({"vid": _("A VLAN ID is between 1 and 4094.")})


class Subnet(ChangeLoggedModel):
    """An IP prefix, with its VLAN and zone; IP addresses are placed in the narrowest one."""

    prefix = models.CharField(_("prefix"), max_length=64, unique=True, help_text="10.1.20.0/24")
    name = models.CharField(_("name"), max_length=200, blank=True)
    vlan = models.ForeignKey(
        VLAN,
        verbose_name=_("VLAN"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subnets",
    )
    zone = models.ForeignKey(
        Zone,
        verbose_name=_("zone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subnets",
    )
    gateway = models.GenericIPAddressField(_("gateway"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["prefix"]
        verbose_name = _("subnet")
        verbose_name_plural = _("subnets")

    def __str__(self) -> str:
        return f"{self.prefix} {self.name}".strip()

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.prefix, strict=True)

    def clean(self) -> None:
        try:
            network = ipaddress.ip_network(self.prefix, strict=True)
        except ValueError as exc:
            raise ValidationError({"prefix": str(exc)}) from None
        self.prefix = str(network)
        if self.gateway and ipaddress.ip_address(self.gateway) not in network:
            raise ValidationError({"gateway": _("The gateway lies outside the subnet.")})

    @staticmethod
    def containing(address: str, subnets: list[Subnet] | None = None) -> Subnet | None:
        """The narrowest subnet that holds ``address`` (from ``subnets`` or the database)."""
        ip = ipaddress.ip_address(address)
        candidates = subnets if subnets is not None else list(Subnet.objects.all())
        best: Subnet | None = None
        for subnet in candidates:
            net = subnet.network
            if ip.version == net.version and ip in net:
                if best is None or net.prefixlen > best.network.prefixlen:
                    best = subnet
        return best


class Interface(ChangeLoggedModel):
    """A network interface of an asset: a NIC, or a port of a switch."""

    asset = models.ForeignKey(
        Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="interfaces"
    )
    name = models.CharField(_("name"), max_length=64)
    mac = models.CharField(
        _("MAC address"), max_length=17, blank=True, db_index=True, validators=[validate_mac]
    )

    class Meta:
        ordering = ["asset__asset_tag", "name"]
        verbose_name = _("interface")
        verbose_name_plural = _("interfaces")
        constraints = [
            models.UniqueConstraint(fields=["asset", "name"], name="interface_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.asset.name} {self.name}"

    def changelog_parent(self) -> models.Model | None:
        return self.asset

    def clean(self) -> None:
        if self.mac:
            validate_mac(self.mac)
            self.mac = normalise_mac(self.mac)


class IPAddress(ChangeLoggedModel):
    """An address on an interface; unique within its subnet."""

    interface = models.ForeignKey(
        Interface,
        verbose_name=_("interface"),
        on_delete=models.CASCADE,
        related_name="ip_addresses",
    )
    address = models.GenericIPAddressField(_("address"), db_index=True)
    subnet = models.ForeignKey(
        Subnet,
        verbose_name=_("subnet"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ip_addresses",
    )

    class Meta:
        ordering = ["address"]
        verbose_name = _("IP address")
        verbose_name_plural = _("IP addresses")
        constraints = [
            models.UniqueConstraint(fields=["subnet", "address"], name="ip_unique_in_subnet"),
        ]

    def __str__(self) -> str:
        return self.address

    def changelog_parent(self) -> models.Model | None:
        return self.interface.asset

    def clean(self) -> None:
        if self.subnet_id is None:
            self.subnet = Subnet.containing(self.address)
        clash = IPAddress.objects.filter(address=self.address, subnet_id=self.subnet_id)
        if self.pk:
            clash = clash.exclude(pk=self.pk)
        other = clash.select_related("interface__asset").first()
        if other is not None:
            raise ValidationError(
                {
                    "address": _("%(ip)s is already used by %(asset)s in this subnet.")
                    % {"ip": self.address, "asset": other.interface.asset}
                }
            )


class Cable(ChangeLoggedModel):
    """A patch: an asset's interface plugged into a port (interface) of a switch."""

    a_interface = models.OneToOneField(
        Interface,
        verbose_name=_("device interface"),
        on_delete=models.CASCADE,
        related_name="cable_a",
    )
    b_interface = models.OneToOneField(
        Interface,
        verbose_name=_("switch port"),
        on_delete=models.CASCADE,
        related_name="cable_b",
    )
    cable_type = models.CharField(
        _("cable type"), max_length=20, choices=CableType.choices, default=CableType.COPPER
    )
    label = models.CharField(_("label"), max_length=100, blank=True)

    class Meta:
        ordering = ["a_interface__asset__asset_tag", "a_interface__name"]
        verbose_name = _("cable")
        verbose_name_plural = _("cabling")

    def __str__(self) -> str:
        return f"{self.a_interface} ↔ {self.b_interface}"

    def changelog_parent(self) -> models.Model | None:
        return self.a_interface.asset

    def clean(self) -> None:
        if self.a_interface_id and self.a_interface_id == self.b_interface_id:
            raise ValidationError(_("A cable joins two different interfaces."))
        if self.a_interface_id and self.b_interface_id:
            if self.a_interface.asset_id == self.b_interface.asset_id:
                raise ValidationError(_("A cable joins two different assets."))


class ExternalConnection(ChangeLoggedModel):
    """A path out of the hospital: an internet uplink, a vendor's remote-maintenance line, a VPN.

    ``through`` lists the gateways and firewalls it passes, in order from the outside in (the
    path the diagram draws); ``reaches`` the assets it can reach.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=ConnectionKind.choices)
    provider = models.CharField(
        _("provider"), max_length=200, blank=True, help_text=_("Carrier or vendor")
    )
    method = models.CharField(_("method"), max_length=30, choices=ConnectionMethod.choices)
    peer = models.CharField(
        _("peer"), max_length=200, blank=True, help_text=_("Remote end: address or host name")
    )
    settings = models.TextField(
        _("settings"), blank=True, help_text=_("Authentication, allowed hours, rules...")
    )
    through = models.ManyToManyField(
        Asset,
        verbose_name=_("through"),
        related_name="external_paths",
        blank=True,
        through="ConnectionHop",
    )
    reaches = models.ManyToManyField(
        Asset, verbose_name=_("reaches"), related_name="reached_by", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("external connection")
        verbose_name_plural = _("external connections")

    def __str__(self) -> str:
        return self.name

    def path(self) -> list[Asset]:
        """The gateways and firewalls in the order the connection passes them."""
        return [hop.asset for hop in self.hops.select_related("asset").order_by("position")]

    def set_assets(self, *, through: list[Asset], reaches: list[Asset]) -> None:
        """Replace the path (in order) and the reached assets, recording the change."""
        before: dict[str, Any] = {
            "through": [a.asset_tag for a in self.path()],
            "reaches": sorted(a.asset_tag for a in self.reaches.all()),
        }
        after = {
            "through": [a.asset_tag for a in through],
            "reaches": sorted(a.asset_tag for a in reaches),
        }
        with transaction.atomic():
            if before["through"] != after["through"]:
                self.hops.all().delete()
                ConnectionHop.objects.bulk_create(
                    ConnectionHop(connection=self, asset=asset, position=i)
                    for i, asset in enumerate(through)
                )
            self.reaches.set(reaches)
            changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            if changes:
                record = change_record(self, ChangeAction.UPDATE, changes)
                record.data = {
                    **self.snapshot(),
                    "through": [a.pk for a in through],
                    "reaches": sorted(a.pk for a in reaches),
                }
                record.save()


class ConnectionHop(models.Model):
    """One gateway or firewall on an external connection's path, at its place in the order.

    Recorded in the history as the connection's ordered ``through`` list (see set_assets)."""

    connection = models.ForeignKey(
        ExternalConnection, on_delete=models.CASCADE, related_name="hops"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="hops")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["connection", "position"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "position"], name="hop_unique_position"),
            models.UniqueConstraint(fields=["connection", "asset"], name="hop_unique_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.connection} #{self.position}: {self.asset}"


class Flow(ChangeLoggedModel):
    """A declared data flow: which asset talks to which, how and why (HL7 to the EHR, DICOM to
    PACS...). Discovery later confirms flows from observed traffic."""

    source = models.ForeignKey(
        Asset, verbose_name=_("source"), on_delete=models.CASCADE, related_name="flows_out"
    )
    destination = models.ForeignKey(
        Asset, verbose_name=_("destination"), on_delete=models.CASCADE, related_name="flows_in"
    )
    protocol = models.CharField(
        _("protocol"), max_length=30, help_text=_("HL7, DICOM, FHIR, HTTPS, SMB...")
    )
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    transport = models.CharField(
        _("transport"),
        max_length=4,
        choices=Transport.choices,
        default=Transport.TCP,
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)

    class Meta:
        ordering = ["source__asset_tag", "destination__asset_tag", "protocol", "port"]
        verbose_name = _("flow")
        verbose_name_plural = _("flows")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "destination", "protocol", "port"], name="flow_unique"
            ),
        ]

    def __str__(self) -> str:
        port = f" {self.port}/{self.transport}" if self.port else ""
        return f"{self.source.asset_tag} → {self.destination.asset_tag} {self.protocol}{port}"

    def changelog_parent(self) -> models.Model | None:
        return self.source

    def clean(self) -> None:
        if self.source_id and self.source_id == self.destination_id:
            raise ValidationError(_("A flow goes from one asset to another."))
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValidationError({"port": _("A port is between 1 and 65535.")})
