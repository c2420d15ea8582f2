"""The discovery page: evidence files, and where the network and the register disagree.

Every change is a POST with CSRF; an item is looked up again in the drift as it stands, so a
stale page cannot accept something that no longer differs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from medshield.assets.models import Asset
from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.discovery.drift import (
    DEFAULT_SILENT_DAYS,
    DriftItem,
    FixRefused,
    accept_change,
    accept_flow,
    compute_drift,
    dismiss,
)
from medshield.discovery.forms import AcceptHostForm, DismissForm, ItemForm, UploadForm
from medshield.discovery.models import DriftKind, ObservationSource
from medshield.discovery.observe import EvidenceError, import_file
from medshield.network.models import Interface, IPAddress, Subnet


def _silent_days(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("silent_days", DEFAULT_SILENT_DAYS)))
    except ValueError:
        return DEFAULT_SILENT_DAYS


@login_required
def drift_page(request: HttpRequest) -> HttpResponse:
    days = _silent_days(request)
    drift = compute_drift(silent_days=days)
    context = {
        "nav": "discovery",
        "drift": drift,
        "silent_days": days,
        "sources": ObservationSource.objects.all()[:20],
        "upload_form": UploadForm(),
        "sections": [
            (DriftKind.UNKNOWN_HOST, _("Unknown hosts"), drift.unknown_hosts),
            (DriftKind.UNDECLARED_FLOW, _("Undeclared flows"), drift.undeclared_flows),
            (DriftKind.CHANGED_FACT, _("Changed facts"), drift.changed_facts),
            (DriftKind.SILENT_ASSET, _("Silent assets"), drift.silent_assets),
        ],
    }
    return render(request, "discovery/drift.html", context)


def _find(request: HttpRequest, form: ItemForm) -> DriftItem | None:
    if not form.is_valid():
        return None
    drift = compute_drift(silent_days=_silent_days(request))
    return drift.find(form.cleaned_data["kind"], form.cleaned_data["key"])


@login_required
@require_POST
def accept(request: HttpRequest) -> HttpResponse:
    item = _find(request, ItemForm(request.POST))
    if item is None:
        messages.error(request, _("This item is no longer in the drift list."))
        return redirect("discovery")
    if item.kind == DriftKind.UNKNOWN_HOST:
        return redirect(f"{reverse('discovery-accept-host')}?{urlencode({'key': item.key})}")
    if item.kind == DriftKind.SILENT_ASSET:
        # Whether it was retired, moved or is simply switched off is for the user to say
        return redirect("asset-edit", tag=item.data["asset"])
    try:
        if item.kind == DriftKind.UNDECLARED_FLOW:
            flow = accept_flow(item)
            messages.success(request, _("Flow declared: %(flow)s") % {"flow": flow})
        else:
            change = accept_change(item)
            messages.success(request, _("Register updated: %(change)s") % {"change": change})
    except FixRefused as exc:
        messages.error(request, str(exc))
    return redirect("discovery")


@login_required
@require_POST
def dismiss_item(request: HttpRequest) -> HttpResponse:
    form = DismissForm(request.POST)
    item = _find(request, form)
    if not form.is_valid():
        messages.error(request, _("Give a reason to dismiss an item."))
        return redirect("discovery")
    if item is None:
        messages.error(request, _("This item is no longer in the drift list."))
        return redirect("discovery")
    dismiss(item, reason=form.cleaned_data["reason"], user=request.user)
    messages.success(request, _("Dismissed: %(key)s") % {"key": item.key})
    return redirect("discovery")


@login_required
@require_http_methods(["GET", "POST"])
def accept_host(request: HttpRequest) -> HttpResponse:
    """Register an unknown host: an asset with one interface and its address, in one step."""
    key = request.GET.get("key") or request.POST.get("key", "")
    item = compute_drift().find(DriftKind.UNKNOWN_HOST, key)
    if item is None:
        messages.error(request, _("This item is no longer in the drift list."))
        return redirect("discovery")
    data = item.data
    if request.method == "POST":
        form = AcceptHostForm(request.POST)
        if form.is_valid():
            asset = _create_asset(form.cleaned_data)
            messages.success(request, _("Asset %(tag)s registered.") % {"tag": asset.asset_tag})
            return redirect(asset)
    else:
        facts = []
        if data["dicom_ae_titles"]:
            facts.append(
                _("DICOM AE title: %(title)s") % {"title": ", ".join(data["dicom_ae_titles"])}
            )
        if data["hl7_applications"]:
            apps = ", ".join(data["hl7_applications"])
            facts.append(_("HL7 application: %(app)s") % {"app": apps})
        if data["ports"]:
            facts.append(_("Open ports: %(ports)s") % {"ports": ", ".join(sorted(data["ports"]))})
        form = AcceptHostForm(
            initial={
                "name": (data["hostnames"] or [data["ip"] or data["mac"]])[0],
                "manufacturer": data["vendor"],
                "hostname": (data["hostnames"] or [""])[0],
                "mac": data["mac"],
                "ip": data["ip"],
                "notes": "\n".join(facts),
            }
        )
    context = {"nav": "discovery", "form": form, "item": item, "key": key}
    return render(
        request, "discovery/accept_host.html", context, status=400 if form.errors else 200
    )


def _create_asset(data: dict[str, str]) -> Asset:
    with transaction.atomic():
        asset = Asset(
            asset_tag=data["asset_tag"],
            name=data["name"],
            kind=data["kind"],
            manufacturer=data["manufacturer"],
            hostname=data["hostname"],
            notes=data["notes"],
        )
        asset.save()
        iface = Interface(asset=asset, name=data["interface"], mac=data["mac"])
        iface.save()
        if data["ip"]:
            IPAddress(
                interface=iface, address=data["ip"], subnet=Subnet.containing(data["ip"])
            ).save()
    return asset


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to import."))
        return redirect("discovery")
    upload = form.cleaned_data["file"]
    with tempfile.TemporaryDirectory() as folder:
        # The uploaded name only (no directories), so messages name the user's file
        path = Path(folder) / (Path(upload.name).name or "evidence")
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            outcome = import_file(
                path, allow_partial=form.cleaned_data["partial"], file_name=upload.name
            )
        except EvidenceError as exc:
            messages.error(request, _("Refused: %(reason)s") % {"reason": exc})
            return redirect("discovery")
    source = outcome.source
    if outcome.created:
        record(
            AuditAction.IMPORT,
            request=request,
            target=f"discovery {source.file_name}"[:300],
            detail={"kind": source.kind, "hosts": source.host_count, "flows": source.flow_count},
        )
        messages.success(
            request,
            _("%(file)s imported: %(hosts)s hosts, %(flows)s flows.")
            % {"file": source.file_name, "hosts": source.host_count, "flows": source.flow_count},
        )
    else:
        messages.info(
            request,
            _("This file was already imported as %(file)s; nothing changed.")
            % {"file": source.file_name},
        )
    for warning in outcome.warnings:
        messages.warning(request, warning)
    return redirect("discovery")
