"""The audit log page and its export (auditors and administrators: ``accounts.view_audit``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from medshield.accounts.scoping import is_confined
from medshield.audit import export as exporter
from medshield.audit import timeline
from medshield.audit.forms import AuditFilterForm
from medshield.audit.log import record
from medshield.audit.models import AuditAction

PAGE_SIZE = 50
PERMISSION = "accounts.view_audit"


def _refuse_confined(request: HttpRequest) -> None:
    """The log names every device and every login: a login confined to part of the register (a
    manufacturer's) gets none of it, whatever permissions it was given by mistake."""
    if is_confined(request.user):
        raise PermissionDenied


def _page_url(request: HttpRequest, **cursor: str) -> str:
    """The current URL with the paging cursors replaced."""
    params = request.GET.copy()
    for key in ("before", "after"):
        params.pop(key, None)
    params.update(cursor)
    return f"?{params.urlencode()}"


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the merged timeline of audit events and changes, newest first, 50 at a time."""
    _refuse_confined(request)
    form = AuditFilterForm(request.GET)
    filters = form.filters()
    result = timeline.page(
        filters,
        before=timeline.Cursor.parse(request.GET.get("before")),
        after=timeline.Cursor.parse(request.GET.get("after")),
        size=PAGE_SIZE,
    )
    export_query = request.GET.copy()
    for key in ("before", "after"):
        export_query.pop(key, None)
    context = {
        "nav": "audit",
        "form": form,
        "page": result,
        "older_url": _page_url(request, before=str(result.older)) if result.older else "",
        "newer_url": _page_url(request, after=str(result.newer)) if result.newer else "",
        "newest_url": _page_url(request) if result.newer else "",
        "export_query": export_query.urlencode(),
    }
    return render(request, "audit/log.html", context)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered timeline as CSV or JSON, streamed; the export is itself an audit event."""
    _refuse_confined(request)
    form = AuditFilterForm(request.GET)
    filters = form.filters()
    # Recorded before the first byte leaves: an export cut short still happened.
    record(
        AuditAction.EXPORT,
        request=request,
        target="audit log",
        detail={"format": fmt, "filters": filters.as_dict()},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        exporter.chunks(fmt, filters), content_type=exporter.CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="medshield-audit-{stamp}.{fmt}"'
    return response
