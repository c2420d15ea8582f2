"""Fill fuzz/corpus/<harness>/ with seed inputs from the shared corpus and medshield's own
exports (the corpus folders are generated, not committed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import _harness

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "corpus"

SEEDS = {
    "feeds": [
        "nvd/cve-records/CVE-2023-30563.json",
        "csaf/cisa-icsma/icsma-17-009-01a.json",
        "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2017-009608.xml",
        "jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml",
    ],
    "sboms": [
        "cyclonedx/spec-testcases/1.6/valid-bom-1.6.xml",
        "cyclonedx/spec-testcases/1.6/valid-vulnerability-1.6.json",
        "spdx/spdx-spec-2.3/SPDXTagExample-v2.3.spdx",
        "openvex/vexctl/v001-1.vex.json",
        "csaf/oasis-2.0-vex/2022-evd-uc-01-a-001.json",
    ],
    "discovery": [
        "nmap/python-libnmap/2_tcp_hosts.xml",
        "zeek/zat-tsv/dhcp.log",
        "zeek/zat-json/dhcp.log",
        "pcap/zeek-traces/dhcp.pcap",
        "pcap/ndpi/hl7.pcap",
    ],
}


def main() -> None:
    for harness, names in SEEDS.items():
        folder = HERE / "corpus" / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            data = (SHARED / name).read_bytes()
            if harness == "sboms":  # the harness reads its first byte as "v": VEX, else SBOM
                data = (b"v" if "vex" in name else b"s") + data
            (folder / f"{Path(name).parent.name}-{Path(name).name}").write_bytes(data)
    _harness.setup_django()
    from medshield.demo.generator import build_demo_document
    from medshield.register.exporter import write_csv, write_json, write_xlsx

    doc = build_demo_document()
    doc["assets"] = doc["assets"][:8]
    doc["cabling"], doc["external_connections"], doc["flows"] = [], [], []
    folder = HERE / "corpus" / "register"
    folder.mkdir(parents=True, exist_ok=True)
    for name, writer in (("r.json", write_json), ("r.csv", write_csv), ("r.xlsx", write_xlsx)):
        (folder / name).write_bytes(writer(doc))
    print(f"seeds written under {HERE / 'corpus'}", file=sys.stderr)
    shutil.rmtree(_harness._DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
