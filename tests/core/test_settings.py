"""Settings read from the environment: the TLS-proxy deployment the README documents."""

from __future__ import annotations

import os
import subprocess
import sys


def settings_in_child(**env: str) -> str:
    code = (
        "from django.conf import settings as s;"
        "print(s.CSRF_TRUSTED_ORIGINS, getattr(s, 'SECURE_PROXY_SSL_HEADER', None),"
        " s.SESSION_COOKIE_SECURE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medshield.settings", **env},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return result.stdout.strip()


def test_it_trusts_the_proxy_only_when_told() -> None:
    assert settings_in_child() == "[] None False"
    told = settings_in_child(
        MEDSHIELD_BEHIND_TLS_PROXY="yes",
        MEDSHIELD_CSRF_TRUSTED_ORIGINS="https://medshield.hospital.example",
    )
    assert told == "['https://medshield.hospital.example'] ('HTTP_X_FORWARDED_PROTO', 'https') True"


def test_the_secret_key_is_generated_once_private_and_shared_by_racing_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    from medshield.core.env import envsecret

    os.environ.pop("MEDSHIELD_TEST_KEY", None)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: envsecret("MEDSHIELD_TEST_KEY", tmp_path), range(16)))
    [key] = keys
    assert len(key) >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text() == key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_an_empty_secret_key_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from medshield.core.env import envsecret

    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ImproperlyConfigured, match="empty"):
        envsecret("MEDSHIELD_TEST_KEY", tmp_path)


def test_automatic_re_matching_can_be_turned_off_from_the_environment() -> None:
    code = "from django.conf import settings as s; print(s.FINDINGS_AUTO_MATCH)"
    run = [sys.executable, "-c", "import django; django.setup();" + code]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "medshield.settings"}
    on = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60)
    off = subprocess.run(
        run, env={**env, "MEDSHIELD_AUTO_MATCH": "0"}, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    worker = subprocess.run(
        run, env={**env, "MEDSHIELD_AUTO_MATCH": "worker"}, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    assert (on.stdout.strip(), off.stdout.strip(), worker.stdout.strip()) == (
        "True",
        "False",
        "worker",
    )


def _page_size_in_child(database: str) -> str:
    code = (
        "from django.db import connection;"
        "c = connection.cursor();"
        "c.execute('CREATE TABLE IF NOT EXISTS t (a)');"
        "print(c.execute('PRAGMA page_size').fetchone()[0],"
        " c.execute('PRAGMA journal_mode').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medshield.settings",
             "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return result.stdout.strip()


def test_a_new_sqlite_register_has_large_pages_and_an_old_one_keeps_its_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from django.conf import settings

    assert _page_size_in_child(str(tmp_path / "new.sqlite3")) == f"{settings.SQLITE_PAGE_SIZE} wal"
    old = sqlite3.connect(tmp_path / "old.sqlite3")
    old.execute("PRAGMA journal_mode = WAL")
    old.execute("CREATE TABLE t (a)")
    old.close()
    assert _page_size_in_child(str(tmp_path / "old.sqlite3")) == "4096 wal"
