"""A small hospital for the web tests: two buildings, a server room with a rack, a medical-device
subnet, a switch with a cabled infusion pump, a virtual server and a remote-maintenance line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from medshield.assets.choices import AssetKind, AssetStatus, Criticality, NetworkRole
from medshield.assets.models import Asset, Building, Floor, Rack, Room, Site
from medshield.network.choices import ConnectionKind, ConnectionMethod
from medshield.network.models import (
    VLAN,
    Cable,
    ExternalConnection,
    Interface,
    IPAddress,
    Subnet,
    Zone,
)


@dataclass
class Hospital:
    site: Site
    main: Building
    annex: Building
    main_3f: Floor
    annex_1f: Floor
    icu: Room
    server_room: Room
    rack: Rack
    medical: Subnet
    servers: Subnet
    pump: Asset
    monitor: Asset
    switch: Asset
    host: Asset
    pacs: Asset
    remote: ExternalConnection


def add_interface(asset: Asset, name: str, mac: str = "", *ips: str) -> Interface:
    interface = Interface(asset=asset, name=name, mac=mac)
    interface.full_clean()  # normalises the MAC as the importer does
    interface.save()
    for address in ips:
        ip = IPAddress(interface=interface, address=address)
        ip.full_clean()  # places the address in its subnet
        ip.save()
    return interface


@pytest.fixture
def hospital(db) -> Hospital:  # type: ignore[no-untyped-def]
    site = Site.objects.create(code="central", name="中央病院")
    main = Building.objects.create(site=site, code="main", name="本館")
    annex = Building.objects.create(site=site, code="annex", name="別館")
    main_3f = Floor.objects.create(building=main, name="3F", level=3)
    annex_1f = Floor.objects.create(building=annex, name="1F", level=1)
    icu = Room.objects.create(floor=main_3f, code="301", name="ICU")
    server_room = Room.objects.create(floor=annex_1f, code="105", name="サーバ室")
    rack = Rack.objects.create(room=server_room, name="R01")
    zone = Zone.objects.create(name="医療機器ゾーン")
    vlan = VLAN.objects.create(site=site, vid=120, name="ME")
    medical = Subnet.objects.create(
        prefix="10.1.20.0/24", name="医療機器", vlan=vlan, zone=zone, gateway="10.1.20.1"
    )
    servers = Subnet.objects.create(prefix="10.9.0.0/24", name="サーバ")

    pump = Asset.objects.create(
        asset_tag="ME-000101",
        name="輸液ポンプ ICU-1",
        kind=AssetKind.MEDICAL_DEVICE,
        manufacturer="テルモ",
        model="TE-LM800",
        serial_number="SN-7781",
        software_version="2.1.0",
        department="集中治療部",
        criticality=Criticality.LIFE_SUSTAINING,
        room=icu,
    )
    monitor = Asset.objects.create(
        asset_tag="ME-000102",
        name="生体情報モニタ",
        kind=AssetKind.MEDICAL_DEVICE,
        manufacturer="日本光電",
        model="CSM-1901",
        department="循環器内科",
        criticality=Criticality.DIAGNOSTIC,
        status=AssetStatus.STORED,
        room=icu,
    )
    switch = Asset.objects.create(
        asset_tag="NW-000001",
        name="ICU フロアスイッチ",
        kind=AssetKind.NETWORK_DEVICE,
        network_role=NetworkRole.SWITCH,
        manufacturer="Cisco",
        room=server_room,
        rack=rack,
    )
    host = Asset.objects.create(
        asset_tag="SV-000001",
        name="仮想基盤ホスト1",
        kind=AssetKind.SERVER,
        hostname="esx01",
        room=server_room,
        rack=rack,
    )
    pacs = Asset.objects.create(
        asset_tag="SV-000002",
        name="PACS サーバ",
        kind=AssetKind.SERVER,
        hostname="pacs01",
        is_virtual=True,
        host=host,
    )
    pump_nic = add_interface(pump, "eth0", "00:1A:2B:3C:4D:5E", "10.1.20.15")
    add_interface(monitor, "eth0", "00:1a:2b:3c:4d:99", "10.1.20.16")
    port = add_interface(switch, "Gi1/0/7")
    Cable.objects.create(a_interface=pump_nic, b_interface=port, label="P-0307")
    add_interface(pacs, "ens192", "", "10.9.0.20")
    remote = ExternalConnection.objects.create(
        name="テルモ リモート保守",
        kind=ConnectionKind.REMOTE_MAINTENANCE,
        provider="テルモ",
        method=ConnectionMethod.IPSEC_VPN,
        peer="203.0.113.10",
    )
    remote.set_assets(through=[switch], reaches=list(remote.reaches.all()))
    remote.reaches.set([pump])
    return Hospital(
        site=site,
        main=main,
        annex=annex,
        main_3f=main_3f,
        annex_1f=annex_1f,
        icu=icu,
        server_room=server_room,
        rack=rack,
        medical=medical,
        servers=servers,
        pump=pump,
        monitor=monitor,
        switch=switch,
        host=host,
        pacs=pacs,
        remote=remote,
    )


@pytest.fixture
def english(settings) -> None:  # type: ignore[no-untyped-def]
    """Render in English so assertions can use the source strings."""
    settings.LANGUAGE_CODE = "en"


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (``playwright install`` is never needed)."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
