"""Diagram pages: each diagram zoomable and pannable, filters as form controls, downloads, and
what changed since the last export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medshield.assets.models import Asset, Building, Floor, Site
from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.diagrams import service
from medshield.diagrams.dot import KINDS
from medshield.diagrams.loader import last_change, place_key
from medshield.diagrams.models import DiagramKind
from medshield.diagrams.render import FORMATS, RenderError
from medshield.diagrams.render import render as render_dot
from medshield.diagrams.snapshot import Filters
from medshield.network.models import Subnet, Zone
from medshield.web.widgets import as_id, place_and_subnet_choices, use_fast_selects

#: subnets one diagram URL may expand (each costs Graphviz time)
MAX_EXPAND = 50


class DiagramForm(forms.Form):
    """The filters of a diagram page (all optional)."""

    site = forms.ModelChoiceField(
        Site.objects.all(), required=False, label=_("Site"), empty_label="—"
    )
    building = forms.ModelChoiceField(
        Building.objects.select_related("site"), required=False, label=_("Building")
    )
    floor = forms.ModelChoiceField(
        Floor.objects.select_related("building"), required=False, label=_("Floor")
    )
    zone = forms.ModelChoiceField(
        Zone.objects.all(), required=False, label=_("Zone"), empty_label="—"
    )
    subnet = forms.ModelChoiceField(Subnet.objects.all(), required=False, label=_("Subnet"))
    department = forms.ChoiceField(required=False, label=_("Department"))
    at = forms.DateField(
        required=False,
        label=_("As of"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Draw the register as it stood at the end of this day"),
    )
    redact = forms.BooleanField(
        required=False,
        label=_("Redact"),
        help_text=_("Hide IP and MAC addresses, serial numbers and hostnames"),
    )
    view = forms.ChoiceField(
        required=False,
        label=_("Endpoints"),
        choices=[("", _("Automatic")), ("collapsed", _("Collapsed")), ("expanded", _("Expanded"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = (
            Asset.objects.exclude(department="")
            .order_by("department")
            .values_list("department", flat=True)
            .distinct()
        )
        self.fields["department"].choices = [("", "—")] + [(d, d) for d in departments]
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-select"
            if isinstance(field, forms.DateField):
                css = "form-control"
            field.widget.attrs.setdefault("class", css + " form-select-sm")
        use_fast_selects(self)
        place_and_subnet_choices(self, "—", str(_("Choose a building first")))

    def request(self, kind: str, expand: frozenset[int], query: str) -> service.Request:
        data = self.cleaned_data
        at = None
        if data.get("at"):
            at = service.parse_when(data["at"].isoformat())
        view = data.get("view")
        return service.Request(
            kind=kind,
            at=at,
            filters=Filters(
                site=place_key("site", data["site"].pk if data.get("site") else None),
                building=place_key(
                    "building", data["building"].pk if data.get("building") else None
                ),
                floor=place_key("floor", data["floor"].pk if data.get("floor") else None),
                zone=data["zone"].pk if data.get("zone") else None,
                subnet=data["subnet"].pk if data.get("subnet") else None,
                department=data.get("department") or "",
            ),
            redact=bool(data.get("redact")),
            collapse=True if view == "collapsed" else False if view == "expanded" else None,
            expand=expand,
            asset_url=reverse("asset-detail", args=["TAG"]).replace("TAG", "{tag}"),
            expand_url="?" + (query + "&" if query else "") + "expand={subnet}",
        )


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Http404(kind)
    return kind


def _expand(request: HttpRequest) -> frozenset[int]:
    ids = (as_id(v) for v in request.GET.getlist("expand")[:MAX_EXPAND])
    return frozenset(i for i in ids if i is not None)


def _form(request: HttpRequest) -> DiagramForm:
    form = DiagramForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form
    if not request.GET:
        form.is_valid()  # an empty form is valid and yields empty cleaned_data
        form.cleaned_data = {}
    return form


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("diagram", kind="network")


@login_required
def diagram(request: HttpRequest, kind: str) -> HttpResponse:
    """A diagram with its filters, downloads and the link to what changed since the last export."""
    kind = _kind(kind)
    form = _form(request)
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "expand"])
    svg = error = ""
    if not form.errors:
        req = form.request(kind, _expand(request), query)
        try:
            svg = render_dot(service.build(req), "svg").decode("utf-8")
            # The XML prolog and DOCTYPE are not allowed inside an HTML page.
            svg = svg[svg.index("<svg") :]
        except RenderError as exc:
            error = str(exc)
    export = service.last_export(kind)
    return render(
        request,
        "diagrams/diagram.html",
        {
            "nav": "diagrams",
            "kind": kind,
            "kinds": DiagramKind.choices,
            "form": form,
            "svg": svg,
            "error": error,
            "query": query,
            "last_change": last_change(),
            "last_export": export,
            "formats": list(FORMATS),
        },
    )


@login_required
def download(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    kind = _kind(kind)
    if fmt not in FORMATS:
        raise Http404(fmt)
    form = _form(request)
    if form.errors:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    req = form.request(kind, _expand(request), "")
    try:
        data = render_dot(service.build(req), fmt)
    except RenderError as exc:
        return HttpResponse(str(exc), status=500, content_type="text/plain; charset=utf-8")
    service.record_export(kind, fmt, redacted=req.redact)
    record(
        AuditAction.EXPORT,
        request=request,
        target=f"diagram {kind}",
        detail={"format": fmt, "redacted": bool(req.redact), "bytes": len(data)},
    )
    response = HttpResponse(data, content_type=FORMATS[fmt])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="medshield-{kind}-{stamp}.{fmt}"'
    return response


@login_required
def diff(request: HttpRequest, kind: str) -> HttpResponse:
    """The diagram with what changed between two times coloured, and the list of changes."""
    kind = _kind(kind)
    form = _form(request)
    errors: list[str] = []
    since = until = None
    try:
        since = service.parse_when(request.GET.get("from", ""))
    except ValueError as exc:
        errors.append(str(exc))
    if request.GET.get("to"):
        try:
            until = service.parse_when(request.GET["to"])
        except ValueError as exc:
            errors.append(str(exc))
    svg = ""
    changes: list[Any] = []
    if not errors and not form.errors and since is not None:
        req = form.request(kind, _expand(request), "")
        text, changes = service.build_diff(req, since, until)
        try:
            svg = render_dot(text, "svg").decode("utf-8")
            svg = svg[svg.index("<svg") :]
        except RenderError as exc:
            errors.append(str(exc))
    return render(
        request,
        "diagrams/diff.html",
        {
            "nav": "diagrams",
            "kind": kind,
            "kinds": DiagramKind.choices,
            "form": form,
            "svg": svg,
            "changes": changes,
            "errors": errors,
            "since": since,
            "until": until or timezone.now(),
        },
    )
