"""Forms of the discovery pages: dismiss a drift item, register an unknown host, upload evidence."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from medshield.assets.choices import AssetKind
from medshield.assets.models import Asset
from medshield.discovery.models import DriftKind
from medshield.network.models import IPAddress, Subnet, normalise_mac, validate_mac


class ItemForm(forms.Form):
    """Names one drift item (kind and key); the view finds it in the current drift."""

    kind = forms.ChoiceField(choices=DriftKind.choices, widget=forms.HiddenInput)
    key = forms.CharField(max_length=300, widget=forms.HiddenInput)


class DismissForm(ItemForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": _("Reason")}
        ),
    )


class AcceptHostForm(forms.Form):
    """The few facts a new asset needs; the rest is completed on the asset's own page."""

    asset_tag = forms.CharField(label=_("Asset tag"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=AssetKind.choices)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200, required=False)
    hostname = forms.CharField(label=_("Hostname"), max_length=253, required=False)
    interface = forms.CharField(label=_("Interface"), max_length=64, initial="eth0")
    mac = forms.CharField(
        label=_("MAC address"), max_length=17, required=False, validators=[validate_mac]
    )
    ip = forms.GenericIPAddressField(label=_("IP address"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea({"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-select" if name == "kind" else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_asset_tag(self) -> str:
        tag = self.cleaned_data["asset_tag"].strip()
        if Asset.objects.filter(asset_tag=tag).exists():
            raise ValidationError(_("An asset with this tag already exists."))
        Asset._meta.get_field("asset_tag").run_validators(tag)
        return tag

    def clean_mac(self) -> str:
        mac = self.cleaned_data.get("mac", "")
        return normalise_mac(mac) if mac else ""

    def clean_ip(self) -> str:
        ip = self.cleaned_data.get("ip") or ""
        if ip:
            subnet = Subnet.containing(ip)
            if IPAddress.objects.filter(address=ip, subnet=subnet).exists():
                raise ValidationError(_("This address is already registered."))
        return ip


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Evidence file"),
        help_text=_("nmap XML, a Zeek conn/dhcp/dns log (TSV or JSON) or a pcap/pcapng capture"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )
    partial = forms.BooleanField(
        label=_("Keep what can be read from a truncated file"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
