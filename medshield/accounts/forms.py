"""The form of a one-time code."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    """Six digits from an authenticator app (spaces, as some apps show them, are dropped)."""

    token = forms.CharField(
        label=_("Code"),
        max_length=12,
        validators=[RegexValidator(r"^\s*\d{3}\s*\d{3}\s*$", _("Enter the 6-digit code."))],
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "form-control",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        return "".join(str(self.cleaned_data["token"]).split())
