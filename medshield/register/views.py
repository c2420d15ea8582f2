"""Web import (upload → column-mapping preview → confirm) and export of the register."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from medshield.accounts.scoping import is_confined
from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.core.actor import actor_for_user
from medshield.register.document import (
    CONTENT_TYPES,
    FORMATS,
    ImportRejected,
    ParsedFile,
    export_bytes,
    import_document,
    read_register,
)
from medshield.register.forms import UploadForm
from medshield.register.vocabulary import MAPPABLE_FIELDS

SESSION_KEY = "register_import"
#: uploads left behind (a preview never confirmed) are removed after a day
STALE_AFTER = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
#: errors listed on the preview page; the rest are counted
MAX_SHOWN_ERRORS = 500

FIELD_LABELS: dict[str, Any] = {
    "place": gettext_lazy("place (building/floor/room)"),
}


def _upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _upload_path(token: str) -> Path:
    # The token comes from our own session, but check its shape anyway: it becomes a file name.
    if not _TOKEN.match(token):
        raise ValueError(token)
    return _upload_dir() / f"{token}.upload"


def _remove_stale_uploads() -> None:
    cutoff = time.time() - STALE_AFTER
    for old in _upload_dir().glob("*.upload"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # removed meanwhile by another request


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(SESSION_KEY)
    if not isinstance(pending, dict) or not _TOKEN.match(str(pending.get("token", ""))):
        return None
    if not _upload_path(pending["token"]).exists():
        return None
    return pending


def _forget(request: HttpRequest) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if isinstance(pending, dict) and _TOKEN.match(str(pending.get("token", ""))):
        _upload_path(pending["token"]).unlink(missing_ok=True)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form; a valid upload is stored under a random name and previewed."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            parsed = read_register(
                data, filename=upload.name, fmt=form.cleaned_data["format"] or "auto"
            )
        except ImportRejected as exc:
            for error in exc.errors:
                form.add_error("file", str(error))
        else:
            _forget(request)
            _remove_stale_uploads()
            token = secrets.token_urlsafe(24)
            # Owner-only: an uploaded register is a map of the hospital's weak points.
            fd = os.open(_upload_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            request.session[SESSION_KEY] = {
                "token": token,
                "name": upload.name[:200],  # shown only, never used as a path
                "format": parsed.format,
                "mapping": None,
            }
            return redirect("register-import-preview")
    return render(request, "register/import.html", {"form": form, "nav": "import"})


def _mapping_from_post(request: HttpRequest, parsed: ParsedFile) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for column in parsed.columns:
        value = request.POST.get(f"map-{column.index}", "")
        mapping[str(column.index)] = value if value in MAPPABLE_FIELDS else None
    return mapping


def _parse(pending: dict[str, Any]) -> ParsedFile:
    data = _upload_path(pending["token"]).read_bytes()
    raw = pending.get("mapping")
    mapping = {int(k): v for k, v in raw.items()} if isinstance(raw, dict) else None
    return read_register(data, filename=pending["name"], fmt=pending["format"], mapping=mapping)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest) -> HttpResponse:
    """Detected format, column → field mapping, first rows and validation; Confirm imports."""
    pending = _pending(request)
    if pending is None:
        messages.info(request, _("Upload a register file first."))
        return redirect("register-import")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "cancel":
        _forget(request)
        messages.info(request, _("The import was cancelled; nothing was changed."))
        return redirect("register-import")
    try:
        parsed = _parse(pending)
        posted_mapping = any(key.startswith("map-") for key in request.POST)
        if action in ("remap", "confirm") and parsed.columns and posted_mapping:
            pending["mapping"] = _mapping_from_post(request, parsed)
            request.session[SESSION_KEY] = pending
            parsed = _parse(pending)
    except ImportRejected as exc:
        _forget(request)
        for error in exc.errors:
            messages.error(request, str(error))
        return redirect("register-import")

    actor = actor_for_user(request.user)
    errors: list[str] = []
    result = None
    try:
        result = import_document(
            parsed.document, actor=actor, dry_run=action != "confirm", source=parsed.source
        )
    except ImportRejected as exc:
        errors = [str(e) for e in exc.errors]
    else:
        if action == "confirm":
            _forget(request)
            record(
                AuditAction.IMPORT,
                request=request,
                target=f"register {pending['name']}",
                detail={"format": parsed.format, "counts": result.counts},
            )
            messages.success(
                request,
                _(
                    "Imported {name}: {created} created, {updated} updated, {deleted} deleted."
                ).format(
                    name=pending["name"],
                    created=result.created,
                    updated=result.updated,
                    deleted=result.deleted,
                ),
            )
            return redirect("register-import")

    context = {
        "nav": "import",
        "pending": pending,
        "parsed": parsed,
        "fields": [(f, FIELD_LABELS.get(f, f)) for f in MAPPABLE_FIELDS],
        "columns": parsed.columns,
        "preview": parsed.preview,
        "errors": errors[:MAX_SHOWN_ERRORS],
        "error_count": len(errors),
        "result": result,
        "counts": result.rows() if result else [],
    }
    return render(request, "register/preview.html", context, status=200)


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """Download the register: ?format=json (default), csv or xlsx."""
    fmt = request.GET.get("format", "json")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Unknown format; use json, csv or xlsx."))
    if is_confined(request.user):
        # The export is the whole register; a login that sees part of it gets none of it.
        raise PermissionDenied
    record(AuditAction.EXPORT, request=request, target="register", detail={"format": fmt})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(export_bytes(fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="medshield-register-{stamp}.{fmt}"'
    return response
