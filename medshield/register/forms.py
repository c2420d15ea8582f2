"""Forms of the register import page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from medshield.register.readers import FORMATS, max_upload_bytes


class UploadForm(forms.Form):
    """The file to import, and its format when detection should be overridden."""

    file = forms.FileField(label=_("Register file (JSON, CSV or XLSX)"))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("auto", _("Detect"))] + [(f, f.upper()) for f in FORMATS],
        initial="auto",
        required=False,
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB."), params={"limit": settings.MAX_UPLOAD_MB}
            )
        return upload
