"""``discover import``: every corpus sample stores or is refused cleanly; re-import is a no-op;
a broken file writes nothing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from medshield.discovery.models import ObservationSource, ObservedFlow, ObservedHost
from medshield.discovery.observe import EvidenceError, import_file

from .test_readers import NMAP_FILES, ZEEK_FILES

EVIDENCE = NMAP_FILES + ZEEK_FILES


def _counts() -> tuple[int, int, int]:
    return (
        ObservationSource.objects.count(),
        ObservedHost.objects.count(),
        ObservedFlow.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", EVIDENCE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_corpus_file_imports_once_or_is_refused_clearly(path: Path) -> None:
    if path.name == "weird.log":
        with pytest.raises(EvidenceError, match="weird.log: a Zeek log of unknown type"):
            import_file(path)
        assert _counts() == (0, 0, 0)
        return
    outcome = import_file(path)
    assert outcome.created
    source = outcome.source
    assert source.kind in ("nmap", "zeek")
    assert source.host_count == ObservedHost.objects.count() > 0
    assert source.flow_count == ObservedFlow.objects.count()
    assert len(source.sha256) == 64 and source.complete
    before = _counts()
    again = import_file(path)
    assert not again.created and again.source.pk == source.pk
    assert _counts() == before


@pytest.mark.django_db
def test_the_command_imports_the_corpus_and_reports_refusals() -> None:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("discover_import", *map(str, EVIDENCE), stdout=out, stderr=err)
    assert "weird.log" in err.getvalue()
    assert _counts()[0] == len(EVIDENCE) - 1
    before = _counts()
    out = StringIO()
    call_command("discover_import", *map(str, EVIDENCE[:3]), stdout=out, stderr=StringIO())
    assert out.getvalue().count("already imported") == 3
    assert _counts() == before


@pytest.mark.django_db
def test_a_truncated_file_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    text = NMAP_FILES[-1].read_bytes()  # os_scan5.xml
    cut = tmp_path / "cut.xml"
    cut.write_bytes(text[: len(text) // 2])
    with pytest.raises(EvidenceError, match="incomplete.*--partial"):
        import_file(cut)
    assert _counts() == (0, 0, 0)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("discover_import", str(cut), stdout=StringIO(), stderr=err)
    assert "breaks off" in err.getvalue()
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_partial_keeps_what_was_read_with_its_warning(tmp_path: Path) -> None:
    text = NMAP_FILES[-1].read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(text[: len(text) // 2])
    err = StringIO()
    call_command("discover_import", "--partial", str(cut), stdout=StringIO(), stderr=err)
    source = ObservationSource.objects.get()
    assert not source.complete and "breaks off" in source.warnings[0]
    assert source.host_count >= 1
    assert "warning" in err.getvalue()


@pytest.mark.django_db
def test_an_import_is_one_transaction(tmp_path: Path, monkeypatch: Any) -> None:
    from medshield.discovery import observe

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(observe.ObservedFlow.objects, "bulk_create", boom)
    with pytest.raises(RuntimeError):
        import_file(ZEEK_FILES[0])
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_random_bytes_and_pcap_without_a_reader(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01binary")
    with pytest.raises(EvidenceError, match="unknown content"):
        import_file(junk)
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_the_evidence_shape_of_the_pcap_reader_is_stored(write: Any) -> None:
    """A host and a flow as ``Capture.as_json()`` gives them land in the same tables."""
    from medshield.discovery.observe import Evidence, store

    data = {
        "hosts": [
            {
                "ip": "10.0.1.5",
                "mac": "02:00:00:00:00:05",
                "hostnames": ["us01"],
                "protocols": ["DICOM"],
                "dicom_ae_titles": ["US01", "PACS"],
                "hl7_applications": [],
                "hl7_facilities": [],
                "user_agents": ["curl/8"],
            }
        ],
        "flows": [
            {
                "src": "10.0.1.5",
                "dst": "10.0.1.20",
                "dst_port": 11112,
                "transport": "tcp",
                "protocol": "DICOM",
                "packets": 12,
                "bytes": 3400,
                "first_seen": 1795132800.25,
                "last_seen": "2026-11-20T00:01:00+00:00",
            }
        ],
    }
    source = store(Evidence("pcap", "", data), file_name="x.pcap", sha256="0" * 64)
    host = ObservedHost.objects.get(source=source)
    assert host.dicom_ae_titles == ["PACS", "US01"] and host.extra == {"user_agents": ["curl/8"]}
    flow = ObservedFlow.objects.get(source=source)
    assert (flow.dst_port, flow.protocol, flow.packets) == (11112, "DICOM", 12)
    assert flow.first_seen is not None and flow.last_seen > flow.first_seen


@pytest.mark.django_db
def test_a_capture_goes_through_the_pcap_reader_when_there_is_one(corpus: Path) -> None:
    capture = corpus / "pcap" / "ndpi" / "hl7.pcap"
    try:
        import medshield.discovery.pcap  # noqa: F401
    except ImportError:
        with pytest.raises(EvidenceError, match="no pcap reader"):
            import_file(capture)
        return
    outcome = import_file(capture)
    assert outcome.source.kind == "pcap"
    assert outcome.source.flow_count >= 1
    hosts = ObservedHost.objects.filter(source=outcome.source)
    assert any(h.hl7_applications for h in hosts)
