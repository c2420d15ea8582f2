"""The findings pages: the filtered list, one finding, one asset's and one vulnerability's findings.

Every view starts from :func:`~medshield.findings.filters.visible_findings`, so a manufacturer's
login sees the findings of its own devices only, and an id or tag outside that set is a 404
(not a 403, which would confirm that it exists).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medshield.accounts.scoping import visible_assets
from medshield.assets.choices import Criticality
from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.core.models import ObjectChange
from medshield.findings import export
from medshield.findings.filters import SORTS, FindingFilter, visible_findings
from medshield.findings.models import (
    USER_STATUSES,
    Certainty,
    FindingStatus,
    VendorAlias,
)
from medshield.findings.priority import describe
from medshield.vulns.models import Vulnerability

PAGE_SIZE = 50


def _filter_from(request: HttpRequest) -> FindingFilter:
    """The filter the query string asks for; values outside the choices are ignored."""
    get = request.GET
    status = get.get("status", "active")
    if status not in ("", "active", *FindingStatus.values):
        status = "active"
    certainty = get.get("certainty", "")
    criticality = get.get("criticality", "")
    try:
        min_priority: int | None = int(get.get("min_priority", ""))
    except ValueError:
        min_priority = None
    if min_priority is not None and not 0 <= min_priority <= 100:
        min_priority = None
    return FindingFilter(
        kev=True if get.get("kev") == "1" else None,
        status=status,
        certainty=certainty if certainty in Certainty.values else "",
        criticality=criticality if criticality in Criticality.values else "",
        min_priority=min_priority,
        q=get.get("q", "").strip()[:200],
        sort=get.get("sort", "priority") if get.get("sort") in SORTS else "priority",
    )


def _list_context(request: HttpRequest, chosen: FindingFilter, base: Any) -> dict[str, Any]:
    findings = chosen.apply(base)
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "nav": "findings",
        "page": page,
        "filter": chosen,
        "statuses": FindingStatus.choices,
        "certainties": Certainty.choices,
        "criticalities": Criticality.choices,
        "sorts": SORTS,
    }


@require_GET
@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    """All visible findings, filtered, sorted and paginated (most urgent first)."""
    chosen = _filter_from(request)
    context = _list_context(request, chosen, visible_findings(request.user))
    context["can_export"] = request.user.has_perm("accounts.export_data")
    return render(request, "findings/finding_list.html", context)


@require_GET
@login_required
def finding_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV (formula-safe, UTF-8 with BOM); audited as an export."""
    if not request.user.has_perm("accounts.export_data"):
        raise PermissionDenied
    chosen = _filter_from(request)
    data = list(export.rows(chosen.apply(visible_findings(request.user))))
    record(
        AuditAction.EXPORT,
        request=request,
        target="findings",
        detail={"format": "csv", "rows": len(data), "filter": request.GET.urlencode()[:500]},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        ("\ufeff" + export.to_csv(data)).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="findings-{stamp}.csv"'
    return response


class StatusForm(forms.Form):
    """Triage: the new status and why."""

    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[(s.value, s.label) for s in USER_STATUSES],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


@require_http_methods(["GET", "POST"])
@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One finding: why it matched, who says so, scores, priority terms, triage and history."""
    finding = get_object_or_404(visible_findings(request.user).by_pk(pk))
    can_change = request.user.has_perm("findings.change_finding")
    form = StatusForm(initial={"status": finding.status, "note": finding.status_note})
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = StatusForm(request.POST)
        if form.is_valid():
            try:
                finding.set_status(form.cleaned_data["status"], form.cleaned_data["note"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Status changed."))
                return redirect(finding.get_absolute_url())
    vuln = finding.vulnerability
    triage = finding.triage()
    history = (
        ObjectChange.objects.filter(
            object_type__app_label="findings", object_type__model="triage", object_id=triage.pk
        ).order_by("-time", "-pk")[:50]
        if triage is not None
        else ObjectChange.objects.none()
    )
    others = (
        visible_findings(request.user)
        .filter(vulnerability=vuln)
        .exclude(asset_id=finding.asset_id)
        .values("asset_id")
        .distinct()
        .count()
    )
    return render(
        request,
        "findings/finding_detail.html",
        {
            "nav": "findings",
            "finding": finding,
            "vuln": vuln,
            "asset": finding.asset,
            "priority_terms": describe(finding.priority_explanation),
            "form": form,
            "can_change": can_change,
            "history": history,
            "others": others,
        },
    )


@require_GET
@login_required
def asset_findings(request: HttpRequest, tag: str) -> HttpResponse:
    """The findings of one asset."""
    asset = visible_assets(request.user).filter(asset_tag=tag).first()
    if asset is None:
        raise Http404
    chosen = _filter_from(request)
    context = _list_context(request, chosen, visible_findings(request.user).filter(asset=asset))
    context.update(asset=asset, can_export=request.user.has_perm("accounts.export_data"))
    return render(request, "findings/asset_findings.html", context)


@require_GET
@login_required
def vulnerability_findings(request: HttpRequest, vuln_id: str) -> HttpResponse:
    """The assets one vulnerability (possibly) affects, with the Japanese title where known."""
    vuln = get_object_or_404(Vulnerability, vuln_id=vuln_id)
    chosen = _filter_from(request)
    context = _list_context(
        request, chosen, visible_findings(request.user).filter(vulnerability=vuln)
    )
    context.update(vuln=vuln)
    return render(request, "findings/vulnerability_findings.html", context)


class AliasForm(forms.ModelForm):  # type: ignore[type-arg]
    """Confirm that two spellings name the same vendor or product."""

    class Meta:
        model = VendorAlias
        fields = ["name", "alias", "note"]


@require_http_methods(["GET", "POST"])
@login_required
def alias_list(request: HttpRequest) -> HttpResponse:
    """Confirmed name aliases, and a form to add one (re-matches the names concerned)."""
    can_change = request.user.has_perm("findings.add_vendoralias")
    form = AliasForm()
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = AliasForm(request.POST)
        if form.is_valid():
            from medshield.findings.service import rematch_names

            alias = form.save(commit=False)
            alias.created_by = request.user
            alias.save()
            stats = rematch_names([alias.name, alias.alias])
            messages.success(
                request,
                _("Alias saved; {n} findings created, {u} updated.").format(
                    n=stats.created, u=stats.updated
                ),
            )
            return redirect("finding-alias-list")
    aliases = VendorAlias.objects.select_related("created_by")
    return render(
        request,
        "findings/alias_list.html",
        {"nav": "findings", "aliases": aliases, "form": form, "can_change": can_change},
    )


@require_POST
@login_required
def alias_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a confirmed alias (and re-match the names it joined)."""
    if not request.user.has_perm("findings.delete_vendoralias"):
        raise PermissionDenied
    alias = get_object_or_404(VendorAlias, pk=pk)
    names = [alias.name, alias.alias]
    alias.delete()
    from medshield.findings.service import rematch_names

    rematch_names(names)
    messages.success(request, _("Alias removed."))
    return redirect("finding-alias-list")
