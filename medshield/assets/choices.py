"""Choice sets of the asset register: stored value, translated label and a display colour."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AssetKind(models.TextChoices):
    MEDICAL_DEVICE = "medical_device", _("Medical device")
    MEDICAL_SYSTEM = "medical_system", _("Medical information system")
    SERVER = "server", _("Server")
    NETWORK_DEVICE = "network_device", _("Network device")
    PC = "pc", _("PC or terminal")
    OTHER = "other", _("Other endpoint")


#: kinds that carry the clinical fields (manufacturer contact, criticality, patient data)
CLINICAL_KINDS = frozenset({AssetKind.MEDICAL_DEVICE, AssetKind.MEDICAL_SYSTEM})


class NetworkRole(models.TextChoices):
    SWITCH = "switch", _("Switch")
    ROUTER = "router", _("Router")
    FIREWALL = "firewall", _("Firewall")
    WIRELESS_AP = "wireless_ap", _("Wireless access point")
    WIRELESS_CONTROLLER = "wireless_controller", _("Wireless LAN controller")
    VPN_GATEWAY = "vpn_gateway", _("VPN gateway")


class Criticality(models.TextChoices):
    LIFE_SUSTAINING = "life_sustaining", _("Life-sustaining")
    TREATMENT = "treatment", _("Treatment")
    DIAGNOSTIC = "diagnostic", _("Diagnostic")
    SUPPORT = "support", _("Support")

    @classmethod
    def colour(cls, value: str) -> str:
        return {
            cls.LIFE_SUSTAINING: "danger",
            cls.TREATMENT: "warning",
            cls.DIAGNOSTIC: "info",
            cls.SUPPORT: "secondary",
        }.get(value, "light")


class AssetStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    PLANNED = "planned", _("Planned")
    STORED = "stored", _("In storage")
    DECOMMISSIONED = "decommissioned", _("Decommissioned")

    @classmethod
    def colour(cls, value: str) -> str:
        return {
            cls.IN_SERVICE: "success",
            cls.PLANNED: "info",
            cls.STORED: "secondary",
            cls.DECOMMISSIONED: "dark",
        }.get(value, "light")
