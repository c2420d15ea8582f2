"""The built-in job kinds, run by the worker loop on real files: a register file, a KEV feed from
the corpus, a diagram; and files outside the data folder refused."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from medshield.assets.models import Asset
from medshield.audit.models import AuditEvent
from medshield.core.models import ObjectChange
from medshield.jobs import queue
from medshield.jobs.models import Job
from medshield.jobs.worker import Worker, WorkerOptions
from tests.jobs.conftest import small_register


def run(job: Job) -> Job:
    Worker(WorkerOptions(once=True), say=lambda line: None, name="test:1").work("test:1/0")
    job.refresh_from_db()
    return job


@pytest.fixture
def clerk(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("clerk")


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.json", "uploads/missing.json"])
def test_it_reads_input_files_only_from_the_data_folder(
    db: None, data_dir: Path, path: str
) -> None:
    (data_dir.parent / "outside.json").write_text(json.dumps(small_register()))
    job = run(queue.enqueue("register.import", path=path))
    assert job.state == "failed" and "is not a file in the data folder" in job.error
    assert not Asset.objects.exists()


def test_a_register_import_job_imports_the_file_and_records_who_asked(
    db: None, data_dir: Path, clerk: Any
) -> None:
    (data_dir / "uploads").mkdir()
    (data_dir / "uploads" / "register.json").write_text(json.dumps(small_register(3)))
    job = run(queue.enqueue("register.import", queued_by=clerk, path="uploads/register.json"))
    assert job.state == "done", (job.error, job.result)
    assert job.result["created"] >= 3 and job.result["file"] == "register.json"
    assert sorted(Asset.objects.values_list("asset_tag", flat=True)) == [
        "ME-0001",
        "ME-0002",
        "ME-0003",
    ]
    pump = Asset.objects.get(asset_tag="ME-0001")
    history = ObjectChange.objects.filter(object_id=pump.pk, object_repr__contains="ME-0001")
    assert set(history.values_list("user_name", flat=True)) == {"clerk"}
    event = AuditEvent.objects.get(action="import")
    assert (event.username, event.target, event.detail["job"]) == ("clerk", "register.json", job.pk)
    assert (job.progress_done, job.progress_total) != (0, 0)


def test_a_refused_register_file_fails_the_job_with_every_error_and_writes_nothing(
    db: None, data_dir: Path
) -> None:
    doc = small_register(2)
    doc["assets"][1]["kind"] = "toaster"
    (data_dir / "bad.json").write_text(json.dumps(doc))
    job = run(queue.enqueue("register.import", path=str(data_dir / "bad.json")))
    assert job.state == "failed" and "nothing was imported" in job.error
    assert job.result["error_count"] >= 1 and "kind" in " ".join(job.result["errors"])
    assert not Asset.objects.exists() and not AuditEvent.objects.exists()


def test_a_feed_import_job_imports_a_corpus_feed(db: None, data_dir: Path, corpus: Path) -> None:
    shutil.copy(corpus / "kev" / "known_exploited_vulnerabilities.json", data_dir / "kev.json")
    (data_dir / "junk.json").write_text('{"neither": "feed"}')
    job = run(queue.enqueue("feeds.import", paths=["kev.json", "junk.json"]))
    assert job.state == "failed" and "junk.json" in job.error
    kev, junk = job.result["files"]
    assert kev["file"] == "kev.json" and kev["format"] == "kev" and kev["created"] > 100
    assert junk["file"] == "junk.json" and junk["refused"]
    assert job.progress_total == sum(p.stat().st_size for p in data_dir.glob("*.json"))
    assert AuditEvent.objects.filter(action="import", target="kev.json").exists()


def test_a_diagram_job_writes_the_file_for_download(db: None, data_dir: Path) -> None:
    from medshield.register.document import import_document

    import_document(small_register(2))
    job = run(queue.enqueue("diagram.render", kind="network", format="svg"))
    assert job.state == "done", job.error
    out = data_dir / "jobs" / job.result["file"]
    assert out.name == f"job-{job.pk}.svg" and out.stat().st_mode & 0o077 == 0
    assert b"<svg" in out.read_bytes() and "ME-0001" in out.read_text()
    bad = run(queue.enqueue("diagram.render", kind="network", format="exe"))
    assert bad.state == "failed" and "exe" in bad.error


def test_a_match_job_says_so_when_matching_is_not_installed(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "medshield.findings.service", None)  # import fails
    job = run(queue.enqueue("match"))
    assert job.state == "failed" and "Matching is not available" in job.error
