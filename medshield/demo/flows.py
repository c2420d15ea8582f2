"""The demo hospital's declared data flows, derived from what its devices and systems are.

Rules a hospital's information department would write on its system diagram: modalities send
images to PACS and ask RIS for their worklist, monitors report to their central station, the
central stations and pumps report to their management servers, analysers to the lab system,
departmental systems exchange HL7 with the electronic medical record, terminals use the EMR.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

Json = dict[str, Any]

#: name prefixes of imaging devices that store to PACS and query RIS's modality worklist
MODALITIES = (
    "CT装置", "MRI装置", "SPECT/CT装置", "X線透視装置", "一般撮影装置", "乳房X線撮影装置",
    "回診用X線撮影装置", "血管撮影装置", "超音波診断装置", "CR読取装置",
)  # fmt: skip
ANALYSERS = ("分析装置", "測定装置", "血液ガス")
PUMPS = ("輸液ポンプ", "シリンジポンプ")

#: the medical systems by model (the demo's catalogue names them)
SYSTEMS = {
    "regional": "ID-Link 連携サーバ",
    "pumps": "輸液ポンプ統合管理システム",
    "vitals": "PrimeGaia",
    "emr": "HOPE LifeMark-HX",
    "orders": "HOPE LifeMark-HX オーダ",
    "pacs": "SYNAPSE",
    "ris": "Abierto RIS",
    "lis": "CLINILAN GL-3",
    "pdms": "IntelliSpace Critical Care and Anesthesia",
    "dialysis": "Future Net Web+",
    "endoscopy": "SOLEMIO ENDO",
    "billing": "HOPE SX-R",
    "pharmacy": "YUNICOM-AZ",
}


def demo_flows(doc: Json) -> list[Json]:
    """Flows for a register document built by the demo generator, sorted as an export sorts."""
    assets = doc["assets"]
    system = {
        key: next(
            a["asset_tag"] for a in assets if a["model"] == model and a["kind"] == "medical_system"
        )
        for key, model in SYSTEMS.items()
        if any(a["model"] == model for a in assets)
    }
    flows: dict[tuple[str, str, str, int | None], Json] = {}

    def flow(src: str, dst: str, protocol: str, port: int | None, purpose: str) -> None:
        if src != dst:
            flows[(src, dst, protocol, port)] = {
                "source": src, "destination": dst, "protocol": protocol, "port": port,
                "transport": "tcp", "purpose": purpose,
            }  # fmt: skip

    centrals: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in assets:
        if a["name"].startswith("セントラルモニタ"):
            centrals[(a["manufacturer"], a["department"])].append(a["asset_tag"])
    for a in assets:
        tag, name = a["asset_tag"], a["name"]
        if a["kind"] == "medical_device":
            if name.startswith(MODALITIES):
                flow(tag, system["pacs"], "DICOM", 104, "画像送信 (C-STORE)")
                flow(tag, system["ris"], "DICOM", 104, "モダリティワークリスト (MWL)")
            elif name.startswith("ベッドサイドモニタ"):
                peers = centrals.get((a["manufacturer"], a["department"]))
                if peers:
                    flow(tag, peers[0], "MONITOR-NET", None, "バイタル・アラーム (独自プロトコル)")
                else:
                    flow(tag, system["vitals"], "HL7", 2575, "バイタル送信")
            elif name.startswith("セントラルモニタ"):
                flow(tag, system["vitals"], "HL7", 2575, "バイタル送信")
            elif name.startswith(PUMPS):
                flow(tag, system["pumps"], "HTTPS", 443, "投与状況・アラーム")
            elif any(word in name for word in ANALYSERS):
                flow(tag, system["lis"], "ASTM", 9100, "検査結果")
            elif name.startswith(("人工呼吸器", "麻酔器")):
                flow(tag, system["pdms"], "HL7", 2575, "設定値・測定値")
            elif name.startswith("透析用監視装置"):
                flow(tag, system["dialysis"], "HTTP", 80, "透析条件・経過記録")
            elif name.startswith("内視鏡システム"):
                flow(tag, system["endoscopy"], "DICOM", 104, "内視鏡画像")
        elif a["kind"] == "pc" and name.startswith("電子カルテ端末"):
            flow(tag, system["emr"], "HTTPS", 443, "電子カルテ参照・記載")
        elif a["kind"] == "pc" and name.startswith("読影ワークステーション"):
            flow(tag, system["pacs"], "DICOM", 104, "読影 (C-MOVE)")
    for src, dst, protocol, port, purpose in (
        ("emr", "orders", "HTTPS", 443, "オーダ発行"),
        ("orders", "ris", "HL7", 2575, "放射線オーダ"),
        ("orders", "lis", "HL7", 2575, "検体検査オーダ"),
        ("orders", "pharmacy", "HL7", 2575, "処方・注射オーダ"),
        ("orders", "billing", "HL7", 2575, "会計情報"),
        ("ris", "pacs", "HL7", 2575, "検査実施情報"),
        ("lis", "emr", "HL7", 2575, "検査結果"),
        ("vitals", "emr", "HL7", 2575, "バイタル連携"),
        ("pumps", "emr", "HL7", 2575, "投与記録"),
        ("pdms", "emr", "HL7", 2575, "重症系記録"),
        ("dialysis", "emr", "HL7", 2575, "透析記録"),
        ("emr", "pacs", "HTTPS", 443, "画像ビューア呼び出し"),
        ("regional", "emr", "HTTPS", 443, "地域連携 (SS-MIX2)"),
        ("regional", "pacs", "DICOM", 104, "地域連携 画像公開"),
    ):
        if src in system and dst in system:
            flow(system[src], system[dst], protocol, port, purpose)
    return sorted(
        flows.values(), key=lambda f: (f["source"], f["destination"], f["protocol"], f["port"] or 0)
    )
