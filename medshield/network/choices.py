"""Choice sets of the network register."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ConnectionKind(models.TextChoices):
    INTERNET = "internet", _("Internet uplink")
    REMOTE_MAINTENANCE = "remote_maintenance", _("Remote-maintenance line")
    SITE_TO_SITE = "site_to_site", _("Site-to-site VPN")
    CLOSED_NETWORK = "closed_network", _("Closed network / leased line")


class ConnectionMethod(models.TextChoices):
    IPSEC_VPN = "ipsec_vpn", _("IPsec VPN")
    SSL_VPN = "ssl_vpn", _("SSL-VPN")
    LEASED_LINE = "leased_line", _("Leased line")
    BROADBAND = "broadband", _("Broadband (FTTH)")
    MOBILE = "mobile", _("Mobile (LTE/5G)")
    CLOUD_RELAY = "cloud_relay", _("Vendor cloud relay")
    OTHER = "other", _("Other")


class CableType(models.TextChoices):
    COPPER = "copper", _("Copper (UTP)")
    FIBER = "fiber", _("Fibre")
    DAC = "dac", _("Direct-attach")
    VIRTUAL = "virtual", _("Virtual")


class Transport(models.TextChoices):
    TCP = "tcp", "TCP"
    UDP = "udp", "UDP"
