"""The products, vendors and segments the demo hospital is built from.

Everything here is plain data: manufacturers and model names are the kind a Japanese general
hospital really runs, while every contact (phone, mail) is fictional (``example.jp`` domains and
``03-0000`` numbers, which no carrier assigns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Stored choice codes of medshield.assets.choices, repeated here so the generator needs no Django.
MEDICAL_DEVICE: Final = "medical_device"
MEDICAL_SYSTEM: Final = "medical_system"
SERVER: Final = "server"
NETWORK_DEVICE: Final = "network_device"
PC: Final = "pc"
OTHER: Final = "other"

LIFE: Final = "life_sustaining"
TREATMENT: Final = "treatment"
DIAGNOSTIC: Final = "diagnostic"
SUPPORT: Final = "support"

#: asset-tag prefix and digit count per kind
TAG_FORMAT: Final[dict[str, tuple[str, int]]] = {
    MEDICAL_DEVICE: ("ME", 5),
    MEDICAL_SYSTEM: ("MS", 4),
    SERVER: ("SV", 4),
    NETWORK_DEVICE: ("NW", 4),
    PC: ("PC", 5),
    OTHER: ("OT", 5),
}


@dataclass(frozen=True, slots=True)
class Vendor:
    """A manufacturer as registered, its (fictional) support desk and a MAC byte for its NICs."""

    name: str
    desk: str
    phone: str
    mail: str
    mac_byte: int

    @property
    def contact(self) -> str:
        return f"{self.desk} {self.phone} / {self.mail}"


def _vendor(name: str, desk: str, number: int, mailbox: str, mac_byte: int) -> Vendor:
    return Vendor(name, desk, f"03-0000-{number:04d}", f"{mailbox}@example.jp", mac_byte)


VENDORS: Final[dict[str, Vendor]] = {
    "canon": _vendor(
        "Canon Medical Systems", "キヤノンメディカル 保守窓口", 1101, "canon-med", 0x11
    ),
    "fujifilm": _vendor("Fujifilm", "富士フイルムメディカル サービス", 1102, "fujifilm-med", 0x12),
    "ge": _vendor("GE HealthCare", "GEヘルスケア カスタマーサービス", 1103, "ge-hc", 0x13),
    "siemens": _vendor(
        "Siemens Healthineers", "シーメンスヘルスケア サポート", 1104, "siemens-hc", 0x14
    ),
    "philips": _vendor("Philips", "フィリップス カスタマーサポート", 1105, "philips-hc", 0x15),
    "shimadzu": _vendor("Shimadzu", "島津製作所 医用機器サービス", 1106, "shimadzu-med", 0x16),
    "konica": _vendor("Konica Minolta", "コニカミノルタ ヘルスケア窓口", 1107, "konica-hc", 0x17),
    "hitachi": _vendor("Hitachi High-Tech", "日立ハイテク 分析装置サービス", 1108, "hht", 0x18),
    "nihonkohden": _vendor("Nihon Kohden", "日本光電 サービスセンター", 1109, "nk-service", 0x19),
    "fukuda": _vendor("Fukuda Denshi", "フクダ電子 サービス窓口", 1110, "fukuda", 0x1A),
    "terumo": _vendor("Terumo", "テルモ コールセンター", 1111, "terumo", 0x1B),
    "jms": _vendor("JMS", "ジェイ・エム・エス 技術サービス", 1112, "jms", 0x1C),
    "olympus": _vendor("Olympus", "オリンパス 修理受付センター", 1113, "olympus-med", 0x1D),
    "sysmex": _vendor("Sysmex", "シスメックス カスタマーサポート", 1114, "sysmex", 0x1E),
    "roche": _vendor("Roche Diagnostics", "ロシュ・ダイアグノスティックス", 1115, "roche", 0x1F),
    "nikkiso": _vendor("Nikkiso", "日機装 メディカルサービス", 1116, "nikkiso", 0x20),
    "toray": _vendor("Toray Medical", "東レ・メディカル サービス", 1117, "toray-med", 0x21),
    "draeger": _vendor("Dräger", "ドレーゲル サービス窓口", 1118, "draeger", 0x22),
    "hamilton": _vendor("Hamilton Medical", "ハミルトン・メディカル", 1119, "hamilton", 0x23),
    "fujitsu": _vendor("Fujitsu", "富士通 医療システム サポート", 1120, "fujitsu-hc", 0x24),
    "nec": _vendor("NEC", "NEC 医療ソリューション窓口", 1121, "nec-hc", 0x25),
    "ant": _vendor("A&T", "エイアンドティー サポート", 1122, "ant-lis", 0x26),
    "yuyama": _vendor("Yuyama", "ユヤマ サービスセンター", 1123, "yuyama", 0x27),
    "carecom": _vendor("Care Com", "ケアコム サービス", 1124, "carecom", 0x28),
    "cisco": _vendor("Cisco", "ネットワーク保守 (SIer)", 1201, "nw-support", 0x31),
    "fortinet": _vendor("Fortinet", "ネットワーク保守 (SIer)", 1201, "nw-support", 0x32),
    "paloalto": _vendor("Palo Alto Networks", "ネットワーク保守 (SIer)", 1201, "nw-support", 0x33),
    "yamaha": _vendor("Yamaha", "ネットワーク保守 (SIer)", 1201, "nw-support", 0x34),
    "hpe": _vendor("HPE", "サーバ保守 (SIer)", 1202, "srv-support", 0x35),
    "dell": _vendor("Dell", "サーバ保守 (SIer)", 1202, "srv-support", 0x36),
    "vmware": _vendor("VMware", "仮想基盤保守 (SIer)", 1202, "srv-support", 0x37),
    "ricoh": _vendor("RICOH", "リコー コールセンター", 1203, "ricoh", 0x38),
    "zebra": _vendor("Zebra", "ラベルプリンタ保守", 1204, "label-printer", 0x39),
    "lenovo": _vendor("Lenovo", "端末保守 (SIer)", 1205, "pc-support", 0x3A),
}

#: vendors that keep a remote-maintenance VPN into the hospital, with the access method
REMOTE_VENDORS: Final[tuple[tuple[str, str], ...]] = (
    ("canon", "ipsec_vpn"),
    ("fujifilm", "ipsec_vpn"),
    ("ge", "ipsec_vpn"),
    ("siemens", "ipsec_vpn"),
    ("philips", "ipsec_vpn"),
    ("nihonkohden", "ssl_vpn"),
    ("olympus", "ipsec_vpn"),
    ("terumo", "ssl_vpn"),
    ("sysmex", "cloud_relay"),
    ("fujitsu", "ipsec_vpn"),
)


@dataclass(frozen=True, slots=True)
class Product:
    """One model line: what it is called on site, who makes it and how critical it is."""

    label: str
    kind: str
    vendor: str
    model: str
    versions: tuple[str, ...]
    criticality: str = ""
    patient_data: bool = False
    #: reachable by the vendor's remote-maintenance line
    remote: bool = False
    network_role: str = ""
    serial_prefix: str = ""


def _md(
    label: str,
    vendor: str,
    model: str,
    versions: tuple[str, ...],
    criticality: str,
    patient_data: bool,
    remote: bool,
    serial: str,
) -> Product:
    return Product(
        label,
        MEDICAL_DEVICE,
        vendor,
        model,
        versions,
        criticality,
        patient_data,
        remote,
        "",
        serial,
    )


def _nw(label: str, vendor: str, model: str, versions: tuple[str, ...], role: str) -> Product:
    return Product(
        label, NETWORK_DEVICE, vendor, model, versions, network_role=role, serial_prefix="FOC"
    )


PRODUCTS: Final[dict[str, Product]] = {
    # --- modalities ------------------------------------------------------------------------
    "ct_canon": _md(
        "CT装置",
        "canon",
        "Aquilion ONE / INSIGHT Edition",
        ("V10.10", "V10.12"),
        DIAGNOSTIC,
        True,
        True,
        "CA",
    ),
    "ct_siemens": _md(
        "CT装置", "siemens", "SOMATOM X.cite", ("VA40A", "VA40A SP2"), DIAGNOSTIC, True, True, "SX"
    ),
    "mri_philips": _md(
        "MRI装置",
        "philips",
        "Ingenia Elition 3.0T",
        ("R5.9", "R11.1"),
        DIAGNOSTIC,
        True,
        True,
        "PM",
    ),
    "mri_ge": _md(
        "MRI装置", "ge", "SIGNA Architect 3.0T", ("MR30.1", "MR29.1"), DIAGNOSTIC, True, True, "GE"
    ),
    "dr_fujifilm": _md(
        "一般撮影装置 (DR)",
        "fujifilm",
        "FDR Smart X",
        ("V6.1", "V6.2"),
        DIAGNOSTIC,
        True,
        True,
        "FD",
    ),
    "dr_konica": _md(
        "一般撮影装置 (DR)",
        "konica",
        "AeroDR fine / CS-7",
        ("1.40", "1.50"),
        DIAGNOSTIC,
        True,
        True,
        "KM",
    ),
    "dr_shimadzu": _md(
        "一般撮影装置 (DR)",
        "shimadzu",
        "RADspeed Pro",
        ("2.0", "2.1"),
        DIAGNOSTIC,
        True,
        False,
        "SH",
    ),
    "mobile_xray": _md(
        "回診用X線撮影装置",
        "shimadzu",
        "MobileDaRt Evolution MX8",
        ("3.10", "3.20"),
        DIAGNOSTIC,
        True,
        False,
        "SM",
    ),
    "fluoro": _md(
        "X線透視装置",
        "shimadzu",
        "SONIALVISION G4",
        ("4.01", "4.10"),
        DIAGNOSTIC,
        True,
        False,
        "SG",
    ),
    "angio": _md(
        "血管撮影装置", "philips", "Azurion 7 B20/15", ("R2.2", "R3.0"), TREATMENT, True, True, "PA"
    ),
    "angio_planned": _md(
        "血管撮影装置 (ハイブリッド手術室)",
        "siemens",
        "ARTIS pheno",
        ("VE20",),
        TREATMENT,
        True,
        True,
        "SA",
    ),
    "mammo": _md(
        "乳房X線撮影装置",
        "fujifilm",
        "AMULET Innovality",
        ("V4.0", "V4.1"),
        DIAGNOSTIC,
        True,
        True,
        "FA",
    ),
    "us_ge": _md(
        "超音波診断装置", "ge", "LOGIQ E10s", ("R3.1", "R3.2"), DIAGNOSTIC, True, True, "GL"
    ),
    "us_canon": _md(
        "超音波診断装置", "canon", "Aplio i800", ("V7.0", "V7.1"), DIAGNOSTIC, True, True, "CU"
    ),
    "us_fujifilm": _md(
        "超音波診断装置", "fujifilm", "ARIETTA 850", ("V3.0", "V3.2"), DIAGNOSTIC, True, True, "FU"
    ),
    "us_philips": _md(
        "超音波診断装置 (心エコー)",
        "philips",
        "EPIQ CVx",
        ("9.0.3", "10.0.1"),
        DIAGNOSTIC,
        True,
        True,
        "PE",
    ),
    "us_konica": _md(
        "超音波診断装置", "konica", "SONIMAGE HS2", ("1.3", "1.4"), DIAGNOSTIC, True, False, "KS"
    ),
    "spect": _md(
        "SPECT/CT装置",
        "siemens",
        "Symbia Intevo Bold",
        ("VB22", "VB22A"),
        DIAGNOSTIC,
        True,
        True,
        "SS",
    ),
    "cr_old": _md(
        "CR読取装置 (旧)", "fujifilm", "FCR PRIMA T2", ("A06",), DIAGNOSTIC, True, False, "FC"
    ),
    # --- monitoring ------------------------------------------------------------------------
    "bsm_nk": _md(
        "ベッドサイドモニタ",
        "nihonkohden",
        "Life Scope G7 CSM-1702",
        ("01-12", "01-14"),
        LIFE,
        True,
        False,
        "NK",
    ),
    "bsm_nk_ward": _md(
        "ベッドサイドモニタ",
        "nihonkohden",
        "BSM-3562",
        ("03-21", "03-24"),
        TREATMENT,
        True,
        False,
        "NK",
    ),
    "cns_nk": _md(
        "セントラルモニタ",
        "nihonkohden",
        "CNS-6801",
        ("02-40", "02-51"),
        TREATMENT,
        True,
        True,
        "NC",
    ),
    "bsm_fukuda": _md(
        "ベッドサイドモニタ", "fukuda", "DS-8700", ("V05.10", "V05.20"), LIFE, True, False, "FK"
    ),
    "bsm_fukuda_ward": _md(
        "ベッドサイドモニタ", "fukuda", "DS-8500", ("V04.30",), TREATMENT, True, False, "FK"
    ),
    "cns_fukuda": _md(
        "セントラルモニタ",
        "fukuda",
        "DS-LAN V ATDS-9000",
        ("V02.02", "V02.05"),
        TREATMENT,
        True,
        False,
        "FC",
    ),
    "bsm_philips": _md(
        "ベッドサイドモニタ",
        "philips",
        "IntelliVue MX750",
        ("M.00.03", "M.00.05"),
        LIFE,
        True,
        False,
        "PH",
    ),
    "bsm_philips_ward": _md(
        "ベッドサイドモニタ",
        "philips",
        "IntelliVue MX450",
        ("M.00.03",),
        TREATMENT,
        True,
        False,
        "PH",
    ),
    "cns_philips": _md(
        "セントラルモニタ",
        "philips",
        "IntelliVue PIC iX",
        ("C.03", "C.04"),
        TREATMENT,
        True,
        True,
        "PC",
    ),
    "fetal": _md(
        "分娩監視装置", "philips", "Avalon FM30", ("L.3", "L.3.1"), TREATMENT, True, False, "PF"
    ),
    # --- therapy ---------------------------------------------------------------------------
    "pump_terumo": _md(
        "輸液ポンプ", "terumo", "TE-LM700", ("1.05", "1.06"), LIFE, False, False, "T"
    ),
    "syringe_terumo": _md(
        "シリンジポンプ", "terumo", "TE-SS700", ("1.03", "1.04"), LIFE, False, False, "T"
    ),
    "pump_jms": _md("輸液ポンプ", "jms", "OT-818G", ("2.10", "2.11"), LIFE, False, False, "J"),
    "syringe_jms": _md(
        "シリンジポンプ", "jms", "SP-520", ("1.20", "1.21"), LIFE, False, False, "J"
    ),
    "vent_draeger": _md(
        "人工呼吸器", "draeger", "Evita V600", ("2.51", "2.60"), LIFE, False, False, "DR"
    ),
    "vent_hamilton": _md(
        "人工呼吸器", "hamilton", "HAMILTON-C6", ("2.2.4", "2.3.1"), LIFE, False, False, "HM"
    ),
    "vent_nk": _md(
        "人工呼吸器", "nihonkohden", "NKV-550", ("01-05", "01-07"), LIFE, False, False, "NV"
    ),
    "anesthesia": _md(
        "麻酔器", "draeger", "Perseus A500", ("2.03", "2.10"), LIFE, False, False, "DA"
    ),
    "anesthesia_ge": _md("麻酔器", "ge", "Aisys CS2", ("11.0", "11.1"), LIFE, False, False, "GA"),
    "dialysis_nikkiso": _md(
        "透析用監視装置", "nikkiso", "DCS-100NX", ("3.20", "3.31"), LIFE, True, False, "NX"
    ),
    "dialysis_toray": _md(
        "透析用監視装置", "toray", "TR-3300M", ("2.05", "2.10"), LIFE, True, False, "TR"
    ),
    "endoscope": _md(
        "内視鏡システム",
        "olympus",
        "EVIS X1 CV-1500",
        ("1.30", "1.42"),
        DIAGNOSTIC,
        True,
        True,
        "OL",
    ),
    "endoscope_fuji": _md(
        "内視鏡システム",
        "fujifilm",
        "ELUXEO 7000 VP-7000",
        ("2.0", "2.1"),
        DIAGNOSTIC,
        True,
        True,
        "EL",
    ),
    "endo_washer": _md(
        "内視鏡洗浄消毒装置", "olympus", "OER-Elite", ("1.11",), SUPPORT, False, False, "OE"
    ),
    # --- laboratory and physiology ----------------------------------------------------------
    "lab_xn": _md(
        "多項目自動血球分析装置",
        "sysmex",
        "XN-3100",
        ("00-30", "00-32"),
        DIAGNOSTIC,
        True,
        True,
        "XN",
    ),
    "lab_cs": _md(
        "全自動血液凝固測定装置", "sysmex", "CS-5100", ("00-25",), DIAGNOSTIC, True, True, "CS"
    ),
    "lab_uf": _md(
        "全自動尿中有形成分分析装置",
        "sysmex",
        "UF-5000",
        ("00-16", "00-18"),
        DIAGNOSTIC,
        True,
        True,
        "UF",
    ),
    "lab_hiscl": _md(
        "全自動免疫測定装置", "sysmex", "HISCL-5000", ("00-12",), DIAGNOSTIC, True, True, "HC"
    ),
    "lab_labospect": _md(
        "自動分析装置 (生化学)",
        "hitachi",
        "LABOSPECT 008 α",
        ("1.2", "1.3"),
        DIAGNOSTIC,
        True,
        False,
        "LS",
    ),
    "lab_cobas": _md(
        "免疫生化学統合分析装置",
        "roche",
        "cobas 8000",
        ("06-02", "06-03"),
        DIAGNOSTIC,
        True,
        False,
        "CB",
    ),
    "lab_bga": _md(
        "血液ガス分析装置",
        "siemens",
        "RAPIDPoint 500e",
        ("5.2", "5.3"),
        DIAGNOSTIC,
        True,
        False,
        "RP",
    ),
    "ecg_fukuda": _md(
        "心電計", "fukuda", "FCP-8800", ("V01.40", "V01.52"), DIAGNOSTIC, True, False, "FE"
    ),
    "ecg_nk": _md(
        "心電計", "nihonkohden", "ECG-2550", ("02-11", "02-20"), DIAGNOSTIC, True, False, "NE"
    ),
    "eeg_nk": _md(
        "脳波計", "nihonkohden", "EEG-1200", ("07-60", "07-71"), DIAGNOSTIC, True, False, "NG"
    ),
    # --- medical information systems --------------------------------------------------------
    "ehr": Product(
        "電子カルテシステム",
        MEDICAL_SYSTEM,
        "fujitsu",
        "HOPE LifeMark-HX",
        ("V10L20", "V10L21"),
        TREATMENT,
        True,
        True,
        serial_prefix="HX",
    ),
    "order": Product(
        "オーダエントリシステム",
        MEDICAL_SYSTEM,
        "fujitsu",
        "HOPE LifeMark-HX オーダ",
        ("V10L20",),
        TREATMENT,
        True,
        True,
        serial_prefix="HX",
    ),
    "pacs": Product(
        "PACS (医用画像管理システム)",
        MEDICAL_SYSTEM,
        "fujifilm",
        "SYNAPSE",
        ("5.7.2", "5.7.3"),
        DIAGNOSTIC,
        True,
        True,
        serial_prefix="SY",
    ),
    "ris": Product(
        "RIS (放射線情報システム)",
        MEDICAL_SYSTEM,
        "canon",
        "Abierto RIS",
        ("3.2", "3.3"),
        DIAGNOSTIC,
        True,
        True,
        serial_prefix="AR",
    ),
    "lis": Product(
        "臨床検査システム (LIS)",
        MEDICAL_SYSTEM,
        "ant",
        "CLINILAN GL-3",
        ("3.4", "3.5"),
        DIAGNOSTIC,
        True,
        False,
        serial_prefix="GL",
    ),
    "pdms": Product(
        "重症系部門システム (PDMS)",
        MEDICAL_SYSTEM,
        "philips",
        "IntelliSpace Critical Care and Anesthesia",
        ("F.01", "F.02"),
        TREATMENT,
        True,
        True,
        serial_prefix="IC",
    ),
    "dialysis_mgmt": Product(
        "透析管理システム",
        MEDICAL_SYSTEM,
        "nikkiso",
        "Future Net Web+",
        ("4.1", "4.2"),
        TREATMENT,
        True,
        False,
        serial_prefix="FN",
    ),
    "endo_filing": Product(
        "内視鏡画像ファイリングシステム",
        MEDICAL_SYSTEM,
        "olympus",
        "SOLEMIO ENDO",
        ("4.5", "4.6"),
        DIAGNOSTIC,
        True,
        True,
        serial_prefix="SE",
    ),
    "pump_gateway": Product(
        "輸液ポンプ管理サーバ",
        MEDICAL_SYSTEM,
        "terumo",
        "輸液ポンプ統合管理システム",
        ("2.0.4", "2.1.0"),
        TREATMENT,
        False,
        True,
        serial_prefix="TG",
    ),
    "monitor_gateway": Product(
        "生体情報管理システム",
        MEDICAL_SYSTEM,
        "nihonkohden",
        "PrimeGaia",
        ("03-20", "03-31"),
        TREATMENT,
        True,
        True,
        serial_prefix="PG",
    ),
    "billing": Product(
        "医事会計システム",
        MEDICAL_SYSTEM,
        "fujitsu",
        "HOPE SX-R",
        ("V3L10",),
        SUPPORT,
        True,
        True,
        serial_prefix="SX",
    ),
    "pharmacy": Product(
        "薬剤部門システム",
        MEDICAL_SYSTEM,
        "yuyama",
        "YUNICOM-AZ",
        ("7.2", "7.3"),
        TREATMENT,
        True,
        False,
        serial_prefix="YU",
    ),
    "regional": Product(
        "地域医療連携システム",
        MEDICAL_SYSTEM,
        "nec",
        "ID-Link 連携サーバ",
        ("6.4",),
        SUPPORT,
        True,
        False,
        serial_prefix="ID",
    ),
    # --- servers ---------------------------------------------------------------------------
    "esxi": Product(
        "仮想化基盤ホスト",
        SERVER,
        "hpe",
        "ProLiant DL380 Gen11",
        ("VMware ESXi 8.0 U2", "VMware ESXi 8.0 U3"),
        serial_prefix="JPE",
    ),
    "server_dell": Product(
        "サーバ", SERVER, "dell", "PowerEdge R760", ("RHEL 9.4",), serial_prefix="DL"
    ),
    "server_storage": Product(
        "画像アーカイブサーバ",
        SERVER,
        "dell",
        "PowerEdge R760xd2",
        ("Windows Server 2022",),
        serial_prefix="DL",
    ),
    "server_hpe": Product(
        "サーバ",
        SERVER,
        "hpe",
        "ProLiant DL360 Gen11",
        ("Windows Server 2022",),
        serial_prefix="JPE",
    ),
    "vm": Product("仮想サーバ", SERVER, "vmware", "VMware Virtual Platform", ("",)),
    # --- network ---------------------------------------------------------------------------
    "core": _nw("コアスイッチ", "cisco", "Catalyst 9500-48Y4C", ("IOS XE 17.9.5",), "switch"),
    "dist": _nw("フロア集約スイッチ", "cisco", "Catalyst 9300X-24Y", ("IOS XE 17.9.5",), "switch"),
    "access": _nw(
        "アクセススイッチ",
        "cisco",
        "Catalyst 9200-48P",
        ("IOS XE 17.9.4a", "IOS XE 17.9.5"),
        "switch",
    ),
    "tor": _nw("サーバ収容スイッチ", "cisco", "Catalyst 9300-48T", ("IOS XE 17.9.5",), "switch"),
    "dmz_switch": _nw("DMZスイッチ", "cisco", "Catalyst 9200-24T", ("IOS XE 17.9.5",), "switch"),
    "edge_fw": _nw(
        "インターネット境界ファイアウォール",
        "fortinet",
        "FortiGate 600F",
        ("FortiOS 7.2.8",),
        "firewall",
    ),
    "med_fw": _nw(
        "医療セグメント ファイアウォール", "paloalto", "PA-3410", ("PAN-OS 11.1.2",), "firewall"
    ),
    "edge_router": _nw(
        "インターネット接続ルータ", "yamaha", "RTX1300", ("Rev.23.00.05",), "router"
    ),
    "regional_router": _nw(
        "地域医療連携網ルータ", "nec", "UNIVERGE IX3315", ("Ver.10.8.22",), "router"
    ),
    "wlc": _nw(
        "無線LANコントローラ",
        "cisco",
        "Catalyst 9800-40",
        ("IOS XE 17.9.5",),
        "wireless_controller",
    ),
    "ap": _nw("無線アクセスポイント", "cisco", "Catalyst 9120AXI", ("17.9.5.47",), "wireless_ap"),
    "vpn": _nw(
        "リモート保守VPNルータ", "yamaha", "RTX830", ("Rev.15.02.30", "Rev.15.02.31"), "vpn_gateway"
    ),
    # --- terminals and other endpoints -----------------------------------------------------
    "ehr_pc": Product(
        "電子カルテ端末",
        PC,
        "fujitsu",
        "ESPRIMO D7013/N",
        ("Windows 11 Enterprise 23H2",),
        patient_data=True,
        serial_prefix="FM",
    ),
    "ehr_laptop": Product(
        "電子カルテ端末 (ノート・カート)",
        PC,
        "fujitsu",
        "LIFEBOOK A7513/N",
        ("Windows 11 Enterprise 23H2",),
        patient_data=True,
        serial_prefix="FL",
    ),
    "viewer_pc": Product(
        "読影ワークステーション",
        PC,
        "lenovo",
        "ThinkStation P3 Tower",
        ("Windows 11 Enterprise 23H2",),
        patient_data=True,
        serial_prefix="LN",
    ),
    "console_pc": Product(
        "画像処理ワークステーション",
        PC,
        "lenovo",
        "ThinkStation P5",
        ("Windows 10 Enterprise LTSC 2021",),
        patient_data=True,
        serial_prefix="LN",
    ),
    "office_pc": Product(
        "事務用PC",
        PC,
        "lenovo",
        "ThinkCentre M75q Gen 5",
        ("Windows 11 Pro 23H2",),
        serial_prefix="LN",
    ),
    "printer": Product("複合機", OTHER, "ricoh", "IM C3010", ("1.08",), serial_prefix="RC"),
    "label_printer": Product(
        "検体ラベルプリンタ", OTHER, "zebra", "ZD611", ("V93.21",), serial_prefix="ZB"
    ),
    "wristband_printer": Product(
        "リストバンドプリンタ", OTHER, "zebra", "ZD621", ("V93.21",), serial_prefix="ZB"
    ),
    "nurse_call": Product(
        "ナースコール親機", OTHER, "carecom", "Vi-nurse", ("5.1", "5.2"), serial_prefix="CC"
    ),
}


@dataclass(frozen=True, slots=True)
class SegmentKind:
    """A kind of subnet: its zone, preferred VLAN range, name and purpose."""

    zone: str
    vid_base: int
    name: str
    description: str


ZONES: Final[dict[str, str]] = {
    "医療機器": (
        "医療機器 (モダリティ・生体情報モニタ・輸液ポンプ等)。外部とは医療セグメントFW経由のみ"
    ),
    "医療情報システム": "電子カルテ系: 部門システムのサーバと電子カルテ端末",
    "サーバ": "基盤サーバ (AD, DNS/DHCP, WSUS, ウイルス対策, バックアップ)",
    "管理": "ネットワーク機器・サーバのIPMI/管理インタフェース",
    "事務": "情報系 (インターネット接続可) の事務用PC・複合機",
    "ゲスト無線": "患者・来訪者向け無線LAN (院内システムへの経路なし)",
    "DMZ": "外部と接続するサーバ (プロキシ, メール中継, 保守踏み台, 地域連携GW)",
    "リモート保守": "メーカー別リモート保守VPNルータの院内側セグメント",
    "インターネット": "ISP接続セグメント",
    "地域医療連携": "地域医療連携ネットワーク (閉域網) 接続セグメント",
}

#: block of 10.<block>.0.0 a zone's prefixes are drawn from, up to the next zone's block
ZONE_BLOCKS: Final[dict[str, int]] = {
    "管理": 1,
    "サーバ": 10,
    "医療情報システム": 20,
    "医療機器": 40,
    "事務": 80,
    "ゲスト無線": 100,
    "DMZ": 120,
    "リモート保守": 121,
}

#: zones whose subnets are fixed documentation prefixes rather than 10.x blocks
FIXED_PREFIXES: Final[dict[str, tuple[str, int, int]]] = {
    # code: (network address, prefix length, offset of the first host)
    # ISP segment: the edge router's LAN side is the gateway (.1), the firewall takes .2
    "INET": ("198.51.100.0", 29, 1),
    # closed network: the carrier's router is the gateway (.65), ours takes .66
    "REGIONAL": ("198.51.100.64", 29, 2),
}

SEGMENTS: Final[dict[str, SegmentKind]] = {
    # 医療機器: one segment per clinical area, as the MHLW guide recommends
    "ME-RAD": SegmentKind("医療機器", 1000, "放射線部門 モダリティ", "CT/MRI/DR/血管撮影/核医学"),
    "ME-PHYS": SegmentKind("医療機器", 1000, "生理検査・超音波", "超音波/心電計/脳波計"),
    "ME-LAB": SegmentKind("医療機器", 1000, "検体検査 分析装置", "血球/凝固/生化学/免疫/尿"),
    "ME-ENDO": SegmentKind("医療機器", 1000, "内視鏡", "内視鏡システム・洗浄機"),
    "ME-ER": SegmentKind("医療機器", 1000, "救急外来 モニタ", "救急外来の生体情報モニタ"),
    "ME-OR": SegmentKind("医療機器", 1000, "手術部 医療機器", "手術室モニタ・麻酔器"),
    "ME-ICU": SegmentKind("医療機器", 1000, "ICU/HCU 医療機器", "重症系モニタ・人工呼吸器"),
    "ME-DIA": SegmentKind("医療機器", 1000, "透析", "透析用監視装置"),
    "ME-WARD": SegmentKind("医療機器", 1000, "病棟 生体情報モニタ", "病棟のモニタ・セントラル"),
    "ME-WLAN": SegmentKind("医療機器", 1000, "医療機器 無線", "輸液・シリンジポンプ (無線LAN)"),
    "MIS-SRV": SegmentKind(
        "医療情報システム", 500, "部門システム サーバ", "電子カルテ・部門システム"
    ),
    "EHR": SegmentKind("医療情報システム", 500, "電子カルテ端末", "電子カルテ端末・病棟プリンタ"),
    "INFRA": SegmentKind("サーバ", 100, "基盤サーバ", "AD/DNS/DHCP/WSUS/ウイルス対策/バックアップ"),
    "NW-MGMT": SegmentKind("管理", 3500, "ネットワーク管理", "コア・FW・ルータ・WLCの管理"),
    "SRV-MGMT": SegmentKind("管理", 3500, "サーバ管理", "ESXi・iLO/iDRAC"),
    "MGMT": SegmentKind("管理", 3500, "フロア機器管理", "アクセススイッチ・無線APの管理"),
    "OA": SegmentKind("事務", 2000, "事務系 (情報系)", "事務用PC・複合機"),
    "GUEST": SegmentKind("ゲスト無線", 3000, "ゲスト無線LAN", "来院者向けフリーWi-Fi"),
    "DMZ": SegmentKind("DMZ", 150, "DMZ", "プロキシ・メール中継・踏み台・地域連携GW"),
    "RM": SegmentKind("リモート保守", 160, "リモート保守", "保守VPNルータ院内側"),
    "INET": SegmentKind("インターネット", 190, "ISP接続", "エッジルータ - 境界FW"),
    "REGIONAL": SegmentKind("地域医療連携", 170, "地域医療連携網", "閉域網ルータ WAN側"),
}
