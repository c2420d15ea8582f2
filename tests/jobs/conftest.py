"""Fixtures of the jobs tests: the test kinds and their side-effect table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from tests.jobs import kinds_for_tests


@pytest.fixture
def runs_table(db: None) -> Iterator[str]:
    """The table "test.record" writes to, created for the test and dropped after it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {kinds_for_tests.RUNS_TABLE} "
            "(id INTEGER PRIMARY KEY "
            + ("GENERATED ALWAYS AS IDENTITY" if connection.vendor == "postgresql" else "")
            + ", job_id BIGINT NOT NULL, worker VARCHAR(200) NOT NULL)"
        )
    yield kinds_for_tests.RUNS_TABLE
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {kinds_for_tests.RUNS_TABLE}")


def runs(table: str) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT job_id, worker FROM {table} ORDER BY id")  # noqa: S608
        return [(int(job_id), worker) for job_id, worker in cursor.fetchall()]


@pytest.fixture(autouse=True)
def english(settings: Any) -> Iterator[None]:
    """Jobs write their messages in the site language; the tests read them in English."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """A data folder of the test's own (jobs read their input files only from there)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir(mode=0o700)
    return Path(settings.DATA_DIR)


def small_register(tags: int = 2) -> dict[str, Any]:
    """A register document with one room and ``tags`` networked infusion pumps."""
    return {
        "format": "medshield-register",
        "version": 1,
        "places": [
            {
                "code": "MAIN",
                "name": "中央病院",
                "buildings": [
                    {
                        "code": "A",
                        "name": "本館",
                        "floors": [
                            {
                                "name": "3F",
                                "level": 3,
                                "rooms": [{"code": "ICU", "name": "集中治療室"}],
                            }
                        ],
                    }
                ],
            }
        ],
        "assets": [
            {
                "asset_tag": f"ME-{i:04d}",
                "name": f"輸液ポンプ {i}",
                "kind": "medical_device",
                "manufacturer": "Example Medical",
                "place": {"site": "MAIN", "building": "A", "floor": "3F", "room": "ICU"},
                "interfaces": [{"name": "eth0", "mac": "", "ip_addresses": [f"10.1.10.{i + 10}"]}],
            }
            for i in range(1, tags + 1)
        ],
    }
