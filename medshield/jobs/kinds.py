"""The built-in job kinds: feed and register imports, matching, diagram rendering.

Each is a thin shell over the function the command line already calls, adding what a job needs:
input files confined to the data folder, progress reports, a JSON result, and the audit record
an import owes. Files come from the data folder only: a job's arguments are data in a table, and
a row must not be able to make a worker read /etc/shadow.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medshield.core.actor import acting_as
from medshield.jobs.context import JobContext, JobFailed
from medshield.jobs.registry import job_kind

#: errors of a refused register file kept in the job's result (the rest are counted)
MAX_ERRORS = 500


def data_file(path: str) -> Path:
    """``path`` (absolute, or relative to the data folder) as a regular file inside the data
    folder; JobFailed otherwise, naming it."""
    root = Path(settings.DATA_DIR).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise JobFailed(
            _("{path} is not a file in the data folder ({root}).").format(path=path, root=root)
        )
    return resolved


def _audit_import(ctx: JobContext, target: str, detail: dict[str, Any]) -> None:
    from medshield.audit.log import record
    from medshield.audit.models import AuditAction

    record(
        AuditAction.IMPORT,
        user=ctx.user,
        username=ctx.user_name or f"job {ctx.job_id}",
        target=target,
        detail={"job": ctx.job_id, **detail},
    )


# --- feeds.import --------------------------------------------------------------------------------
@job_kind("feeds.import", label=gettext_lazy("Vulnerability feed import"))
def feeds_import(ctx: JobContext, *, paths: list[str], format: str = "auto") -> dict[str, Any]:
    """Import feed files (or bundles) already saved in the data folder, one after another.

    Like ``medshield feeds import``: each file is imported whole or not at all, a refused file
    does not stop the others, and the job fails at the end if any was refused.
    """
    from medshield.vulns.bundle import import_bundle, is_bundle
    from medshield.vulns.importers import FeedRejected, import_path

    if not isinstance(paths, list) or not paths:
        raise JobFailed(_("No feed files were given."))
    files = [data_file(str(p)) for p in paths]
    sizes = [f.stat().st_size for f in files]
    total = sum(sizes)
    files_out: list[dict[str, Any]] = []
    before = 0
    for path, size in zip(files, sizes, strict=True):
        name = path.name
        ctx.progress(before, total, name)

        def report(done: int, _total: int, offset: int = before, name: str = name) -> None:
            ctx.progress(offset + done, total, name)

        try:
            if is_bundle(str(path)):
                for member in import_bundle(str(path), user=ctx.user, user_name=ctx.user_name):
                    files_out.append(_feed_summary(f"{name}:{member.name}", member))
            else:
                record = import_path(
                    str(path),
                    fmt=format,
                    user=ctx.user,
                    user_name=ctx.user_name,
                    file_name=name,
                    progress=report,
                )
                files_out.append(_feed_summary(name, record))
        except (FeedRejected, OSError) as exc:
            files_out.append({"file": name, "refused": str(exc)})
        before += size
        ctx.progress(before, total, name)
    for entry in files_out:
        _audit_import(ctx, entry["file"], {"kind": "feed", **entry})
    result = {"files": files_out}
    refused = [e["file"] for e in files_out if "refused" in e]
    if refused:
        raise JobFailed(
            _("{n} file(s) refused: {names}; the others were imported.").format(
                n=len(refused), names=", ".join(refused)
            ),
            result=result,
        )
    return result


def _feed_summary(name: str, outcome: Any) -> dict[str, Any]:
    """One imported feed as the job's result lists it (a FeedImport or a bundle member)."""
    record = getattr(outcome, "record", outcome)
    if record is None:
        return {"file": name, "refused": getattr(outcome, "error", "")}
    return {
        "file": name,
        "format": record.kind,
        "created": record.created,
        "updated": record.updated,
        "unchanged": record.unchanged,
        "skipped": record.refused,
    }


# --- register.import -----------------------------------------------------------------------------
@job_kind("register.import", label=gettext_lazy("Register import"))
def register_import(
    ctx: JobContext,
    *,
    path: str,
    format: str = "auto",
    dry_run: bool = False,
    mapping: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Import a register file saved in the data folder (JSON, CSV or XLSX), all or nothing.

    ``mapping`` overrides the assets sheet's column → field guesses (column index as a string,
    as the import preview keeps it in the session).
    """
    from medshield.register.document import ImportRejected, import_document, read_register

    source = data_file(path)
    columns = {int(k): v for k, v in mapping.items()} if isinstance(mapping, dict) else None
    try:
        parsed = read_register(
            source.read_bytes(), filename=source.name, fmt=format, mapping=columns
        )
        result = import_document(
            parsed.document,
            actor=ctx.actor(),
            progress=lambda stage, done, total: ctx.progress(done, total, stage),
            dry_run=bool(dry_run),
            source=parsed.source,
        )
    except ImportRejected as exc:
        errors = [str(e) for e in exc.errors]
        raise JobFailed(
            _("{n} error(s); nothing was imported.").format(n=len(errors)),
            result={"errors": errors[:MAX_ERRORS], "error_count": len(errors)},
        ) from None
    summary = {
        "file": source.name,
        "format": parsed.format,
        "dry_run": result.dry_run,
        "created": result.created,
        "updated": result.updated,
        "deleted": result.deleted,
        "rows": [list(row) for row in result.rows()],
    }
    if not dry_run:
        _audit_import(ctx, source.name, {"kind": "register", **summary})
    return summary


# --- match ---------------------------------------------------------------------------------------
@job_kind("match", label=gettext_lazy("Vulnerability matching"))
def match(ctx: JobContext, **options: Any) -> Any:
    """Match every asset and SBOM against the advisories (medshield.findings.service.match_all).

    The findings app is imported when the job runs, not when the kind is registered, so a
    checkout without it still starts its workers; such a job fails saying what is missing.
    """
    try:
        service = importlib.import_module("medshield.findings.service")
    except ImportError as exc:
        raise JobFailed(
            _("Matching is not available in this installation ({error}).").format(error=exc)
        ) from None
    match_all = getattr(service, "match_all", None)
    if match_all is None:
        raise JobFailed(_("medshield.findings.service has no match_all()."))
    parameters = inspect.signature(match_all).parameters
    if "progress" in parameters:
        options["progress"] = ctx.progress
    with acting_as(ctx.actor()):
        return _plain(match_all(**options))


@job_kind("match.pending", label=gettext_lazy("Re-matching after a change"))
def match_pending(ctx: JobContext, **options: Any) -> Any:
    """Re-match what changed since the last match (queued after a save when
    ``MEDSHIELD_AUTO_MATCH=worker``; see medshield.findings.signals)."""
    try:
        service = importlib.import_module("medshield.findings.service")
    except ImportError as exc:
        raise JobFailed(
            _("Matching is not available in this installation ({error}).").format(error=exc)
        ) from None
    with acting_as(ctx.actor()):
        return _plain(service.rematch_pending())


def _plain(value: Any) -> Any:
    """A result as JSON-able data: dataclasses and objects with as_dict() become dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


# --- diagram.render ------------------------------------------------------------------------------
DIAGRAM_FORMATS = {"svg", "png", "pdf", "dot"}


@job_kind("diagram.render", label=gettext_lazy("Diagram"))
def diagram_render(
    ctx: JobContext,
    *,
    kind: str,
    format: str = "svg",
    redact: bool = False,
    at: str = "",
    collapse: bool | None = None,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Draw a configuration diagram into a file of the data folder (a large register can take
    Graphviz minutes); the job page offers it for download to whoever queued it."""
    from medshield.diagrams import service
    from medshield.diagrams.render import RenderError, render

    if format not in DIAGRAM_FORMATS:
        raise JobFailed(
            _("Unknown format {fmt}; choose from {formats}.").format(
                fmt=format, formats=", ".join(sorted(DIAGRAM_FORMATS))
            )
        )
    wanted = {k: str(v) for k, v in (filters or {}).items()}
    try:
        req = service.Request(
            kind=kind,
            at=service.parse_when(at) if at else None,
            filters=service.resolve_filters(**wanted),
            redact=bool(redact),
            collapse=collapse,
        )
    except (ValueError, TypeError) as exc:
        raise JobFailed(str(exc)) from None
    ctx.progress(0, 2, _("Reading the register"))
    text = service.build(req)
    ctx.progress(1, 2, _("Drawing"))
    if format == "dot":
        data = text.encode("utf-8")
    else:
        try:
            data = render(text, format)
        except RenderError as exc:
            raise JobFailed(_("Graphviz failed: {error}").format(error=exc)) from None
    out = ctx.output_path(f".{format}")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    with acting_as(ctx.actor()):
        service.record_export(req.kind, format, redacted=req.redact)
    ctx.progress(2, 2, _("Done"))
    return {"file": out.name, "format": format, "bytes": len(data), "kind": kind}
