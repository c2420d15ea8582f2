"""The audit log's search and filter form (the same fields drive the page and its export)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from medshield.audit.models import AuditAction
from medshield.audit.timeline import ANY_CHANGE, Filters
from medshield.core.models import ChangeAction


def action_choices() -> list[tuple[Any, Any]]:
    """Events and changes in one list, grouped (their values never collide)."""
    return [
        ("", _("Any action")),
        (_("Events"), list(AuditAction.choices)),
        (_("Changes"), [(ANY_CHANGE, _("Any change")), *ChangeAction.choices]),
    ]


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("User, object, path, detail…")}
        ),
    )
    user = forms.CharField(label=_("User"), required=False, max_length=150, strip=True)
    action = forms.ChoiceField(label=_("Action"), required=False, choices=action_choices)
    since = forms.DateField(
        label=pgettext_lazy("audit log date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("audit log date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            css = "form-select" if isinstance(bound.widget, forms.Select) else "form-control"
            bound.widget.attrs.setdefault("class", f"{css} {css}-sm")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def filters(self) -> Filters:
        """The filters from the fields that are valid (a bad field is ignored and shown)."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        data = self.cleaned_data
        return Filters(
            q=data.get("q") or "",
            user=data.get("user") or "",
            action=data.get("action") or "",
            since=data.get("since"),
            until=data.get("until") if "until" not in self.errors else None,
        )
