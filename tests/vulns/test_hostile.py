"""Hostile and broken files are refused quickly, with a clear reason, storing nothing."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from pathlib import Path

import pytest

from medshield.vulns.importers import FeedRejected, import_path
from tests.conftest import CORPUS
from tests.vulns.conftest import EPSS_HEAD, snapshot

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<VULDEF-Document version="3.2" xmlns="http://jvn.jp/vuldef/">
 <Vulinfo><VulinfoID>JVNDB-2022-000097</VulinfoID>
 <VulinfoData><Title>&lol9;</Title></VulinfoData></Vulinfo>
</VULDEF-Document>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<VULDEF-Document version="3.2" xmlns="http://jvn.jp/vuldef/"><Vulinfo>&x;</Vulinfo></VULDEF-Document>
"""

DEEP = 10_000


@pytest.fixture
def baseline() -> dict[str, list[dict[str, object]]]:
    """A database that already holds something, so "unchanged" is not just "empty"."""
    import_path(str(CORPUS / "nvd/cve-records/CVE-2022-2119.json"))
    import_path(str(CORPUS / "csaf/cisa-icsma/icsma-22-174-01.json"))
    return snapshot()


def _refused(path: Path, baseline: dict[str, object], *words: str) -> str:
    started = time.monotonic()
    with pytest.raises(FeedRejected) as excinfo:
        import_path(str(path))
    assert time.monotonic() - started < 5, "a hostile file must be refused quickly"
    message = str(excinfo.value)
    for word in words:
        assert word in message, message
    assert snapshot() == baseline
    return message


def test_it_refuses_an_xml_entity_bomb(tmp_path: Path, baseline: dict[str, object]) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BILLION_LAUGHS)
    _refused(path, baseline, "DTD")


def test_it_refuses_an_external_entity(tmp_path: Path, baseline: dict[str, object]) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(XXE)
    _refused(path, baseline, "DTD")


def test_it_refuses_a_dtd_hidden_past_the_first_bytes(
    tmp_path: Path, baseline: dict[str, object]
) -> None:
    # A long comment pushes the DOCTYPE past what detection reads; the parser still refuses.
    path = tmp_path / "late-dtd.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!--' + "x" * 70_000 + "-->\n" + BILLION_LAUGHS.split("\n", 1)[1]
    )
    _refused(path, baseline)


def _nest(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        ("csaf", '{"document": {"csaf_version": "2.0", "x": %s}}', ("nests too deeply",)),
        (
            "nvd",
            '{"vulnerabilities": [{"cve": {"id": "CVE-2024-0001", '
            '"lastModified": "2024-01-01T00:00:00.000", "x": %s}}]}',
            ("nests deeper",),
        ),
        (
            "kev",
            '{"catalogVersion": "1", "vulnerabilities": [{"cveID": "CVE-2024-0001", "x": %s}]}',
            ("nests far deeper",),
        ),
        ("bare", "%s", ("not a feed",)),
    ],
)
def test_it_refuses_deeply_nested_json(
    tmp_path: Path, baseline: dict[str, object], kind: str, body: str, words: tuple[str, ...]
) -> None:
    path = tmp_path / f"deep-{kind}.json"
    path.write_text(body % _nest(DEEP))
    _refused(path, baseline, *words)


def test_it_refuses_json_that_is_not_utf8(tmp_path: Path, baseline: dict[str, object]) -> None:
    """An overlong UTF-8 sequence in a key (found by the fuzz tests) is refused, not a crash."""
    path = tmp_path / "overlong.json"
    path.write_bytes(b'{"\xc0\x80id": "CVE-2023-30563", "vulnStatus": "Analyzed"}')
    _refused(path, baseline, "UTF-8")


def test_a_head_cut_inside_a_character_is_still_read(tmp_path: Path) -> None:
    """The format is guessed from the first bytes; a cut through a Japanese character is fine."""
    from medshield.vulns.importers import _json_keys

    head = json.dumps({"catalogVersion": "1", "title": "日本語" * 10}, ensure_ascii=False)
    assert "catalogVersion" in _json_keys(head.encode()[:-4])


def _gzip_members(path: Path, head: bytes, chunk: bytes, members: int) -> None:
    """A gzip of ``head`` then ``members`` copies of ``chunk``: tiny on disk, huge inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = compressor.compress(chunk) + compressor.flush()
    with path.open("wb") as out:
        out.write(gzip.compress(head))
        for _ in range(members):
            out.write(member)


def test_it_refuses_a_gzip_bomb(tmp_path: Path, baseline: dict[str, object]) -> None:
    # 2 GB of valid-looking EPSS rows when inflated, about 2 MB on disk.
    row = b"CVE-2024-0001,0.00043,0.09000\n"
    chunk = row * (10 * 1024 * 1024 // len(row))
    path = tmp_path / "epss_scores-bomb.csv.gz"
    _gzip_members(path, EPSS_HEAD.format(date="2026-11-20").encode(), chunk, 200)
    assert path.stat().st_size < 5 * 1024 * 1024
    _refused(path, baseline, "bomb")


def test_it_refuses_a_gzip_past_the_absolute_limit(
    tmp_path: Path, baseline: dict[str, object]
) -> None:
    rows = b"".join(f"CVE-2024-{n:05d},0.00043,0.09000\n".encode() for n in range(1000, 9000))
    path = tmp_path / "epss.csv.gz"
    path.write_bytes(gzip.compress(EPSS_HEAD.format(date="2026-11-20").encode() + rows))
    with pytest.raises(FeedRejected, match="more than 0 MB"):
        import_path(str(path), max_inflated=64 * 1024)
    assert snapshot() == baseline


def _truncate(source: Path, target: Path, fraction: float = 0.6) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("nvd/api-2.0-responses/simple_search.json", "truncated"),
        ("nvd/cve-records/CVE-2020-12040.json", "truncated"),
        ("csaf/cisa-icsma/icsma-20-254-01.json", "truncated"),
        ("kev/known_exploited_vulnerabilities.json", "truncated"),
        ("jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml", "truncated"),
        ("jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml", "truncated"),
    ],
)
def test_it_refuses_a_truncated_file(
    tmp_path: Path, baseline: dict[str, object], name: str, words: str
) -> None:
    path = _truncate(CORPUS / name, tmp_path / Path(name).name)
    _refused(path, baseline, words)


def test_it_refuses_a_truncated_gzip(tmp_path: Path, baseline: dict[str, object]) -> None:
    rows = "".join(f"CVE-2024-{n:05d},0.1,0.2\n" for n in range(1000, 9000))
    data = gzip.compress((EPSS_HEAD.format(date="2026-11-20") + rows).encode())
    path = tmp_path / "epss.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    _refused(path, baseline, "truncated")


def test_it_stores_nothing_when_a_late_record_is_bad(
    tmp_path: Path, baseline: dict[str, object]
) -> None:
    """All or nothing: 600 good records (more than one batch) then a bad one."""
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    records = [{"cve": dict(good, id=f"CVE-2030-{n:05d}")} for n in range(600)]
    records.append({"cve": dict(good, id="not-a-cve")})
    path = tmp_path / "nvd.json"
    path.write_text(json.dumps({"format": "NVD_CVE", "vulnerabilities": records}))
    _refused(path, baseline, "not a CVE id")


@pytest.mark.parametrize(
    ("content", "fmt", "words"),
    [
        (b"", "auto", "empty"),
        (b"\x00\x01\x02 binary", "auto", "not a feed"),
        (b'{"some": "json"}', "auto", "unknown kind"),
        (b"<html><body>login page</body></html>", "auto", "unknown kind"),
    ],
)
def test_it_refuses_the_wrong_format(
    tmp_path: Path, baseline: dict[str, object], content: bytes, fmt: str, words: str
) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(content)
    _refused(path, baseline, words)


def test_it_refuses_a_file_of_another_format_than_asked(baseline: dict[str, object]) -> None:
    with pytest.raises(FeedRejected, match="the file is csaf, not nvd"):
        import_path(str(CORPUS / "csaf/cisa-icsma/icsma-20-254-01.json"), fmt="nvd")
    assert snapshot() == baseline


def test_it_refuses_an_epss_file_with_a_broken_row(
    tmp_path: Path, baseline: dict[str, object]
) -> None:
    path = tmp_path / "epss.csv"
    path.write_text(
        EPSS_HEAD.format(date="2026-11-20") + "CVE-2024-0001,0.1,0.2\nCVE-2024-0002,x,y\n"
    )
    _refused(path, baseline, "line 4")


def test_it_detects_csaf_whose_document_comes_last(
    tmp_path: Path, baseline: dict[str, object]
) -> None:
    """Detection reads content, and key order in JSON is free: a CSAF file is still CSAF."""
    doc = json.loads((CORPUS / "csaf/oasis-2.0-vex/2022-evd-uc-02-na-001.json").read_text())
    reordered = {"vulnerabilities": doc["vulnerabilities"], "product_tree": doc["product_tree"]}
    reordered["document"] = doc["document"]
    path = tmp_path / "reordered.json"
    path.write_text(json.dumps(reordered))
    assert import_path(str(path)).kind == "csaf"
