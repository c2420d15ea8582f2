"""Production settings pass Django's deployment checklist; the secret key is never in the repo."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

from tests.safety.conftest import REPO, child_env, medshield

PRODUCTION = {
    "MEDSHIELD_ENV": "production",
    "MEDSHIELD_ALLOWED_HOSTS": "medshield.hospital.example",
    "MEDSHIELD_CSRF_TRUSTED_ORIGINS": "https://medshield.hospital.example",
}


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    result = medshield(
        "check", "--deploy", "--fail-level", "WARNING", env=child_env(tmp_path, **PRODUCTION)
    )
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_check_deploy_warns_in_development(tmp_path: Path) -> None:
    """The control: without MEDSHIELD_ENV=production the same check finds the gaps."""
    result = medshield(
        "check", "--deploy", "--fail-level", "WARNING", env=child_env(tmp_path), check=False
    )
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_production_refuses_debug_and_unknown_environments(tmp_path: Path) -> None:
    debug = medshield(
        "check", env=child_env(tmp_path, MEDSHIELD_DEBUG="1", **PRODUCTION), check=False
    )
    assert debug.returncode != 0
    assert "MEDSHIELD_DEBUG must be off when MEDSHIELD_ENV=production" in debug.stderr
    typo = medshield("check", env=child_env(tmp_path, MEDSHIELD_ENV="prod"), check=False)
    assert "MEDSHIELD_ENV must be development or production, not 'prod'" in typo.stderr


def test_production_redirects_plain_http_and_sends_hsts(tmp_path: Path) -> None:
    code = (
        "from django.test import Client;"
        "c = Client(HTTP_HOST='medshield.hospital.example');"
        "r = c.get('/login/');"
        "s = c.get('/login/', HTTP_X_FORWARDED_PROTO='https');"
        "print(r.status_code, r.headers.get('Location'));"
        "print(s.status_code, s.headers.get('Strict-Transport-Security'));"
        "print(s.cookies['csrftoken']['secure'])"
    )
    env = child_env(tmp_path, **PRODUCTION)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    result = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-c", f"import django; django.setup(); {code}"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0] == "301 https://medshield.hospital.example/login/"
    assert lines[1] == "200 max-age=31536000; includeSubDomains"
    assert lines[2] is not None and lines[2].lower() == "true"


def test_the_secret_key_is_generated_once_and_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    env = child_env(data)
    env.pop("MEDSHIELD_SECRET_KEY", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    run = [str(REPO / ".venv/bin/python"), "-c", f"import django; django.setup(); {code}"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60)
    key_file = data / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    key = first.stdout.strip()
    assert len(key) >= 50 and key == key_file.read_text()
    again = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert again.stdout.strip() == key
    other = subprocess.run(
        run, env=child_env(tmp_path / "other"), capture_output=True, text=True, check=True,
        timeout=60,
    )  # fmt: skip
    assert other.stdout.strip() != key


SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"""SECRET_KEY\s*=\s*["'][^"']{8,}["']"""),
    re.compile("django" + "-insecure-"),  # split so that this file does not match itself
    re.compile(r"postgres(?:ql)?://[^:/@\s]+:[^@\s]{3,}@"),  # a URL with a password in it
    re.compile(r"AKIA[0-9A-Z]{16}"),
]


def test_no_secret_is_in_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = REPO / name.decode()
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{name.decode()}: {p.pattern}" for p in SECRET_PATTERNS if p.search(text)]
    assert found == []
