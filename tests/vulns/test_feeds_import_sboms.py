"""`medshield feeds import` also takes SBOMs and VEX documents, recognised by their content."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from medshield.sboms.models import Sbom, VexDocument
from medshield.vulns.models import Advisory

pytestmark = pytest.mark.django_db


def test_one_command_takes_feeds_sboms_and_vex(corpus: Path, tmp_path: Path) -> None:
    files = [
        corpus / "csaf/cisa-icsma/icsma-23-194-01.json",
        corpus / "cyclonedx/medical-device-sbom/narrow.sbom.json",
        corpus / "spdx/spdx-spec-2.3/SPDXTagExample-v2.3.spdx",
        corpus / "openvex/vexctl/v020-1.vex.json",
    ]
    out = StringIO()
    call_command("feeds_import", *map(str, files), stdout=out, stderr=StringIO())
    assert Advisory.objects.count() == 1
    assert Sbom.objects.count() == 2 and VexDocument.objects.count() == 1
    lines = out.getvalue().splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "csaf",
        "cyclonedx-json",
        "spdx-tv",
        "openvex",
    ]

    unknown = tmp_path / "notes.json"
    unknown.write_text('{"hello": "world"}', encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("feeds_import", str(unknown), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert "notes.json: refused, nothing imported" in err.getvalue()
    assert Sbom.objects.count() == 2
