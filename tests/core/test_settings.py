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
