"""The jobs pages: recent jobs with their progress, one job's detail, its JSON, cancel, download.

A login sees the jobs it queued; one that may import data (``accounts.import_data``) sees
everyone's, as it is the one to watch the imports. Someone else's job is a 404, not a 403: its
existence is nobody else's business.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from medshield.jobs import queue
from medshield.jobs.models import Job, JobState
from medshield.jobs.registry import label_of

#: jobs on the list page
LIST_SIZE = 50


def visible_jobs(user: Any) -> QuerySet[Job]:
    """The jobs ``user`` may see: its own, or all of them with the right to import."""
    jobs = Job.objects.select_related("created_by")
    if user.has_perm("accounts.import_data"):
        return jobs
    return jobs.filter(created_by=user)


def _fragment(request: HttpRequest) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _labelled(jobs: list[Job]) -> list[Job]:
    for job in jobs:
        job.label = label_of(job.kind)  # type: ignore[attr-defined]
    return jobs


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    """The latest jobs; the table reloads itself every 2 s while one of them is under way."""
    jobs = _labelled(list(visible_jobs(request.user)[:LIST_SIZE]))
    context = {
        "nav": "jobs",
        "jobs": jobs,
        "polling": any(job.is_active for job in jobs),
        "sees_all": request.user.has_perm("accounts.import_data"),
    }
    template = "jobs/_job_table.html" if _fragment(request) else "jobs/job_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One job: its progress (reloading every 2 s while it runs), its result or error."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    _labelled([job])
    context = {
        "nav": "jobs",
        "job": job,
        "can_cancel": job.is_active and not job.cancel_requested,
        "has_file": _output_file(job) is not None,
        "arguments": sorted((job.arguments or {}).items()),
    }
    template = "jobs/_job_panel.html" if _fragment(request) else "jobs/job_detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def as_json(job: Job) -> dict[str, Any]:
    """A job as the status endpoint returns it."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "message": job.progress_message,
            "percent": job.percent,
        },
        "result": job.result,
        "error": job.error,
        "queued_by": job.created_by_name,
        "created": job.created.isoformat(),
        "started": job.started.isoformat() if job.started else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "worker": job.worker,
        "attempts": job.attempts,
    }


@login_required
@require_GET
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The job as JSON, for scripts that queue a job and wait for it."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    return JsonResponse(as_json(job))


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a queued job, or ask the worker to stop a running one at its next progress
    report (whatever the job wrote in its own transaction is then rolled back)."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    if queue.cancel(job):
        messages.info(request, _("Job {id} is being cancelled.").format(id=job.pk))
    else:
        messages.warning(request, _("Job {id} had already ended.").format(id=job.pk))
    return redirect("job-detail", pk=job.pk)


def _output_file(job: Job) -> Path | None:
    """The file a finished job wrote into the data folder's jobs/ folder, if any."""
    if job.state != JobState.DONE or not isinstance(job.result, dict):
        return None
    name = job.result.get("file")
    if not isinstance(name, str) or not name.startswith(f"job-{job.pk}."):
        return None
    folder = (Path(settings.DATA_DIR) / "jobs").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


@login_required
@require_GET
def job_file(request: HttpRequest, pk: int) -> FileResponse:
    """Download what the job produced (a diagram). Only whoever queued it, or a login that may
    export, gets it; the download is an export and is audited as one."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    if job.created_by_id != request.user.pk and not request.user.has_perm("accounts.export_data"):
        raise Http404
    path = _output_file(job)
    if path is None:
        raise Http404
    from medshield.audit.log import record
    from medshield.audit.models import AuditAction

    record(AuditAction.EXPORT, request=request, target=path.name, detail={"job": job.pk})
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type=content_type
    )
