"""Fuzzing every importer: whatever the bytes, the importer succeeds or refuses with its own error.

Each test feeds an importer's entry point with real files from the shared corpus (or exported by
medshield itself), mutated by Hypothesis (bytes flipped, inserted, deleted, cut), with random
bytes, and, for the register, with structurally valid documents whose values are replaced by
random JSON. The only exception allowed out is the importer's documented one
(ImportRejected, FeedRejected, EvidenceError, CaptureError, NmapError, ZeekError); anything else
is a crash that Hypothesis shrinks and reports. Each example runs in a rolled-back transaction.

``MEDSHIELD_FUZZ_EXAMPLES`` raises the number of examples (200 by default, to keep the suite
fast); ``make fuzz`` runs the coverage-guided atheris harnesses in fuzz/ for longer.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from medshield.discovery.nmap import NmapError, read_nmap  # noqa: E402
from medshield.discovery.observe import EvidenceError, import_file  # noqa: E402
from medshield.discovery.pcap import CaptureError, read_capture  # noqa: E402
from medshield.discovery.zeek import ZeekError, read_zeek  # noqa: E402
from medshield.register.errors import ImportRejected  # noqa: E402
from medshield.register.importer import import_document  # noqa: E402
from medshield.register.readers import read_register  # noqa: E402
from medshield.sboms.importers import import_sbom, import_vex  # noqa: E402
from medshield.vulns.importers import FeedRejected, import_path  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("MEDSHIELD_FUZZ_EXAMPLES", "200"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    # The same examples on every run, so the suite gates on code, not on luck;
    # MEDSHIELD_FUZZ_RANDOM=1 explores new ones (`make fuzz` runs the atheris harnesses).
    derandomize=os.environ.get("MEDSHIELD_FUZZ_RANDOM") != "1",
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# --- mutations -------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few byte-level edits, or (sometimes) random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "duplicate", "special"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "cut":
            del data[at:]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
        elif op == "special":
            token = draw(
                st.sampled_from(
                    [b"\x00", b"\xff\xfe", b'"', b"<", b"]]>", b"{", b"[", b"-1", b"1e999",
                     b"NaN", b"\\u0000", b"\xef\xbb\xbf", b"\r\n", b"\t", b"&amp;", b"\xe2\x80\xae"]
                )
            )  # fmt: skip
            data[at:at] = token
    return bytes(data)


def _corpus(*names: str) -> list[bytes]:
    files = [CORPUS / name for name in names]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        pytest.fail(f"corpus files missing: {missing}")
    return [f.read_bytes() for f in files]


@pytest.fixture
def rolled_back() -> Callable[[Callable[[], Any]], Any]:
    """Run a call inside a transaction that is always rolled back."""

    def run(call: Callable[[], Any]) -> Any:
        with transaction.atomic():
            try:
                return call()
            finally:
                transaction.set_rollback(True)

    return run


# --- register --------------------------------------------------------------------------------


def _small_register() -> dict[str, Any]:
    """The demo hospital cut down to a handful of assets (and what they stand on)."""
    from medshield.demo.generator import build_demo_document

    doc = build_demo_document()
    doc["assets"] = [a for a in doc["assets"] if not a.get("host")][:6]
    tags = {a["asset_tag"] for a in doc["assets"]}
    doc["cabling"] = [
        c for c in doc["cabling"] if all(end.get("asset_tag") in tags for end in c.values()
                                         if isinstance(end, dict))
    ][:4]  # fmt: skip
    doc["external_connections"] = []
    doc["flows"] = []
    return doc


@pytest.fixture(scope="module")
def register_seeds() -> dict[str, Any]:
    from medshield.register.exporter import write_csv, write_json, write_xlsx

    doc = _small_register()
    return {
        "doc": doc,
        "files": [write_json(doc), write_csv(doc), write_xlsx(doc)],
    }


def _import_register(data: bytes) -> None:
    parsed = read_register(data, filename="register")
    import_document(parsed.document, source=parsed.source)


@given(data=st.data())
@FUZZ
def test_register_files(data: st.DataObject, register_seeds: dict[str, Any], rolled_back) -> None:  # type: ignore[no-untyped-def]
    blob = data.draw(mutated(register_seeds["files"]))
    try:
        rolled_back(lambda: _import_register(blob))
    except ImportRejected as exc:
        assert str(exc)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, (*path, i))


@given(data=st.data())
@FUZZ
def test_register_documents(  # type: ignore[no-untyped-def]
    data: st.DataObject, register_seeds: dict[str, Any], rolled_back
) -> None:
    """Structure-aware: a valid document with a few values replaced by arbitrary JSON."""
    doc = copy.deepcopy(register_seeds["doc"])
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this place
    try:
        rolled_back(lambda: import_document(json.loads(json.dumps(doc))))
    except ImportRejected as exc:
        assert str(exc)


# --- vulnerability feeds ---------------------------------------------------------------------

EPSS = b"#model_version:v2023.03.01,score_date:2026-11-20T00:00:00+0000\ncve,epss,percentile\n"


@pytest.fixture(scope="module")
def feed_seeds() -> list[bytes]:
    return [
        *_corpus(
            "nvd/cve-records/CVE-2023-30563.json",
            "csaf/cisa-icsma/icsma-17-009-01a.json",
            "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2017-009608.xml",
            "jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml",
        ),
        b'{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "1",'
        b' "dateReleased": "2026-11-20T00:00:00.000Z", "count": 1, "vulnerabilities": [{"cveID":'
        b' "CVE-2024-0001", "vendorProject": "x", "product": "y", "dateAdded": "2026-11-01",'
        b' "knownRansomwareCampaignUse": "Unknown"}]}',
        EPSS + b"CVE-2024-0001,0.00043,0.09000\nCVE-2024-0002,0.5,0.9\n",
    ]


@given(data=st.data())
@FUZZ
def test_feeds(data: st.DataObject, feed_seeds: list[bytes], tmp_path: Path, rolled_back) -> None:  # type: ignore[no-untyped-def]
    blob = data.draw(mutated(feed_seeds))
    path = tmp_path / "feed"
    path.write_bytes(blob)
    try:
        rolled_back(lambda: import_path(str(path)))
    except FeedRejected as exc:
        assert str(exc)


@pytest.fixture(scope="module")
def prepared_seed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A prepared NVD file (what `feeds bundle` carries) of the corpus's NVD records."""
    from medshield.vulns.importers import nvd_prepared

    path = tmp_path_factory.mktemp("prepared") / "prepared.sqlite3"
    nvd_prepared.prepare([str(p) for p in sorted((CORPUS / "nvd").glob("*/*.json"))], str(path))
    return path.read_bytes()


def _import_prepared(blob: bytes, path: Path) -> None:
    from medshield.vulns.importers import nvd_prepared

    path.write_bytes(blob)
    nvd_prepared.import_prepared(str(path), file_name="prepared", sha256="0" * 64)


@given(data=st.data())
@FUZZ
def test_prepared_nvd(data: st.DataObject, prepared_seed: bytes, tmp_path: Path, rolled_back):  # type: ignore[no-untyped-def]
    """Inside a transaction: the prepared rows go through the NVD importer's writer."""
    blob = data.draw(mutated([prepared_seed]))
    try:
        rolled_back(lambda: _import_prepared(blob, tmp_path / "prepared"))
    except FeedRejected as exc:
        assert str(exc)


@pytest.mark.django_db(transaction=True)
@given(data=st.data())
@settings(FUZZ, max_examples=max(EXAMPLES // 4, 10))
def test_prepared_nvd_merged_by_sqlite(data: st.DataObject, prepared_seed: bytes, tmp_path):  # type: ignore[no-untyped-def]
    """Outside a transaction: SQLite merges the attached file itself, checked by forked
    processes meanwhile (on PostgreSQL this is the writer again). A mutation the checks let
    through is merged and stays: the next examples then update or leave it."""
    blob = data.draw(mutated([prepared_seed]))
    try:
        _import_prepared(blob, tmp_path / "prepared")
    except FeedRejected as exc:
        assert str(exc)


# --- SBOMs and VEX ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sbom_seeds() -> list[bytes]:
    return _corpus(
        "cyclonedx/spec-testcases/1.6/valid-bom-1.6.xml",
        "cyclonedx/spec-testcases/1.6/valid-component-identifiers-1.6.json",
        "cyclonedx/spec-testcases/1.6/valid-vulnerability-1.6.json",
        "spdx/spdx-spec-2.3/SPDXJSONExample-v2.3.spdx.json",
        "spdx/spdx-spec-2.3/SPDXTagExample-v2.3.spdx",
    )


@pytest.fixture(scope="module")
def vex_seeds() -> list[bytes]:
    return _corpus(
        "openvex/vexctl/v001-1.vex.json",
        "openvex/vexctl/document2.vex.json",
        "csaf/oasis-2.0-vex/2022-evd-uc-01-a-001.json",
        "cyclonedx/spec-testcases/1.6/valid-vulnerability-1.6.xml",
    )


@given(data=st.data())
@FUZZ
def test_sboms(data: st.DataObject, sbom_seeds: list[bytes], rolled_back) -> None:  # type: ignore[no-untyped-def]
    blob = data.draw(mutated(sbom_seeds))
    try:
        rolled_back(lambda: import_sbom(blob, filename="fuzz"))
    except ImportRejected as exc:
        assert str(exc)


@given(data=st.data())
@FUZZ
def test_vex(data: st.DataObject, vex_seeds: list[bytes], rolled_back) -> None:  # type: ignore[no-untyped-def]
    blob = data.draw(mutated(vex_seeds))
    try:
        rolled_back(lambda: import_vex(blob, filename="fuzz"))
    except ImportRejected as exc:
        assert str(exc)


# --- discovery evidence ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def evidence_seeds() -> dict[str, list[bytes]]:
    return {
        "nmap": _corpus("nmap/python-libnmap/2_tcp_hosts.xml"),
        "zeek": _corpus(
            "zeek/zat-tsv/dhcp.log",
            "zeek/zat-json/dhcp.log",
            "zeek/zeek-baseline/dhcp-all-msg-types.conn.log",
        ),
        "pcap": _corpus(
            "pcap/zeek-traces/dhcp_discover_param_req_and_client_id.pcap",
            "pcap/ndpi/hl7.pcap",
            "pcap/zeek-traces/dhcp.pcap",
        ),
    }


@given(data=st.data())
@FUZZ
def test_nmap_reader(data: st.DataObject, evidence_seeds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scan.xml"
    path.write_bytes(data.draw(mutated(evidence_seeds["nmap"])))
    try:
        read_nmap(path)
    except NmapError as exc:
        assert str(exc)


@given(data=st.data())
@FUZZ
def test_zeek_reader(data: st.DataObject, evidence_seeds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.log"
    path.write_bytes(data.draw(mutated(evidence_seeds["zeek"])))
    try:
        read_zeek(path)
    except ZeekError as exc:
        assert str(exc)


@given(data=st.data())
@FUZZ
def test_pcap_reader(data: st.DataObject, evidence_seeds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "capture.pcap"
    path.write_bytes(data.draw(mutated(evidence_seeds["pcap"])))
    try:
        read_capture(path)
    except CaptureError as exc:
        assert str(exc)


@given(data=st.data())
@FUZZ
def test_evidence_import(data: st.DataObject, evidence_seeds, tmp_path: Path, rolled_back) -> None:  # type: ignore[no-untyped-def]
    seeds = [s for kind in evidence_seeds.values() for s in kind]
    path = tmp_path / "evidence"
    path.write_bytes(data.draw(mutated(seeds)))
    try:
        rolled_back(lambda: import_file(path, allow_partial=True))
    except EvidenceError as exc:
        assert str(exc)


# --- crashes found by fuzzing, kept as regression tests --------------------------------------


def _unknown_encoding(data: bytes) -> bytes:
    """The file with its XML declaration naming an encoding that does not exist."""
    body = data.split(b"?>", 1)[1] if data.lstrip().startswith(b"<?xml") else data
    return b'<?xml version="1.0" encoding="Ucccccccccccc-8"?>' + body


def _xlsx_with_unknown_encoding(seeds: dict[str, Any]) -> bytes:
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(seeds["files"][2]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name.startswith("xl/worksheets/"):
                data = _unknown_encoding(data)
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("importer", ["jvn", "nmap", "cyclonedx", "cyclonedx-vex", "xlsx"])
def test_an_unknown_xml_encoding_is_refused_not_a_crash(  # type: ignore[no-untyped-def]
    importer: str, tmp_path: Path, register_seeds: dict[str, Any], english
) -> None:
    """atheris found LookupError escaping the JVN importer; nmap and CycloneDX XML had it too."""
    if importer == "jvn":
        path = tmp_path / "jvn.xml"
        path.write_bytes(
            _unknown_encoding(
                _corpus("jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2017-009608.xml")[0]
            )
        )
        with pytest.raises(FeedRejected, match="encoding that is not known"):
            import_path(str(path))
    elif importer == "nmap":
        path = tmp_path / "scan.xml"
        path.write_bytes(_unknown_encoding(_corpus("nmap/python-libnmap/2_tcp_hosts.xml")[0]))
        with pytest.raises(EvidenceError, match="encoding that is not known"):
            import_file(path)
    elif importer == "xlsx":
        with pytest.raises(ImportRejected, match="XLSX"):
            read_register(_xlsx_with_unknown_encoding(register_seeds), filename="r.xlsx")
    else:
        name = "valid-bom-1.6.xml" if importer == "cyclonedx" else "valid-vulnerability-1.6.xml"
        data = _unknown_encoding(_corpus(f"cyclonedx/spec-testcases/1.6/{name}")[0])
        call = import_sbom if importer == "cyclonedx" else import_vex
        with pytest.raises(ImportRejected, match="encoding that is not known"):
            call(data, filename=name)


@pytest.fixture
def english() -> Iterator[None]:
    from django.utils import translation

    with translation.override("en"):
        yield
