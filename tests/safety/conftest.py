"""Shared helpers of the safety tests: the web fixtures, a child medshield process, row hashes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.db import connections

from tests.web.conftest import Hospital, browser, hospital  # noqa: F401 - fixtures re-exported

REPO = Path(__file__).resolve().parents[2]
MEDSHIELD = [sys.executable, "-m", "medshield.cli"]

#: the apps whose tables make up the register (and its history)
REGISTER_APPS = ("assets", "network", "core")

__all__ = ["Hospital", "MEDSHIELD", "REPO", "child_env", "medshield", "table_digest"]


def child_env(data_dir: Path, database_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of a medshield child process with its own data folder and database."""
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE either: `check --deploy` rightly fails on it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MEDSHIELD_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        MEDSHIELD_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="medshield.settings",
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


def medshield(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``medshield ARGS`` in a child process and return what it printed."""
    result = subprocess.run(
        [*MEDSHIELD, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"medshield {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def table_digest(alias: str = "default", app_labels: tuple[str, ...] = REGISTER_APPS) -> dict:
    """{table: (row count, SHA-256 of every row in primary-key order)} for the register tables.

    Read with a plain cursor so the comparison sees exactly what the database holds.
    """
    connection = connections[alias]
    digests: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for label in app_labels:
            for model in apps.get_app_config(label).get_models(include_auto_created=True):
                table = model._meta.db_table
                columns = ", ".join(
                    connection.ops.quote_name(f.column) for f in model._meta.concrete_fields
                )
                pk = connection.ops.quote_name(model._meta.pk.column)
                cursor.execute(
                    f"SELECT {columns} FROM {connection.ops.quote_name(table)} ORDER BY {pk}"  # noqa: S608
                )
                sha = hashlib.sha256()
                count = 0
                for row in cursor.fetchall():
                    sha.update(repr(row).encode())
                    count += 1
                digests[table] = (count, sha.hexdigest())
    return digests
