"""Migration vulns.0002 keeps the NVD applicability stored as one row per cpeMatch entry."""

from __future__ import annotations

import json

import msgspec
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from medshield.matching.loaders import stored_nvd_configurations
from medshield.vulns.importers import nvd_read
from medshield.vulns.importers.base import ImportStats
from medshield.vulns.importers.nvd import _said
from medshield.vulns.models import CpeKey, NvdConfigurations
from tests.conftest import CORPUS

RECORDS = ["nvd/cve-records/CVE-2020-12040.json", "nvd/cve-records/CVE-2022-2119.json"]


def _migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor


@pytest.mark.django_db(transaction=True)
def test_it_turns_cpe_match_rows_into_configurations_and_keys() -> None:
    before = [("vulns", "0001_initial")]
    executor = _migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        vulnerability = apps.get_model("vulns", "Vulnerability")
        cpe_match = apps.get_model("vulns", "CpeMatch")
        records = [json.loads((CORPUS / name).read_text()) for name in RECORDS]
        for record in records:
            vuln = vulnerability.objects.create(vuln_id=record["id"])
            # The rows the importer of 0001 wrote: one per entry, with its config and node.
            for c, config in enumerate(record["configurations"]):
                for n, node in enumerate(config["nodes"]):
                    for match in node["cpeMatch"]:
                        start = match.get("versionStartIncluding")
                        end = match.get("versionEndIncluding")
                        part, vendor, product, version = match["criteria"].split(":")[2:6]
                        cpe_match.objects.create(
                            vulnerability=vuln,
                            config=c,
                            config_and=config.get("operator") == "AND",
                            config_negate=bool(config.get("negate")),
                            node=n,
                            node_and=node.get("operator") == "AND",
                            node_negate=bool(node.get("negate")),
                            vulnerable=match["vulnerable"],
                            criteria=match["criteria"],
                            part=part,
                            vendor=vendor,
                            product=product,
                            version=version,
                            start=start or match.get("versionStartExcluding", ""),
                            start_incl=start is not None,
                            end=end or match.get("versionEndExcluding", ""),
                            end_incl=end is not None,
                        )
    finally:
        executor = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    for record in records:
        said = _said(msgspec.convert(record, nvd_read.Cve), ImportStats())
        stored = NvdConfigurations.objects.get(vulnerability__vuln_id=record["id"])
        # What the importer of 0002 would store, as the matcher reads it (the JSON may differ
        # in escapes and in the operators it states).
        assert stored_nvd_configurations(stored.data) == stored_nvd_configurations(
            said["_configurations"]
        )
        keys = CpeKey.objects.filter(vulnerability__vuln_id=record["id"])
        assert sorted(keys.values_list("key", flat=True)) == said["_keys"]
