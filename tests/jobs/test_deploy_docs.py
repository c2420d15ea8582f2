"""The production files under docs/deploy/ stay true to the code: every variable the example
environment sets is one medshield reads, nginx accepts the largest upload medshield accepts, the
units start commands that exist, and the README's Production section names every file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"


def _settings(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, re.M))


def test_the_example_environment_sets_only_variables_medshield_reads() -> None:
    env = _settings((DEPLOY / "medshield.env.example").read_text())
    sources = "\n".join(
        p.read_text()
        for p in [
            ROOT / "medshield" / "settings.py",
            ROOT / "medshield" / "core" / "management" / "commands" / "serve.py",
        ]
    )
    for name in env:
        # envsecret() reads NAME and NAME_FILE.
        base = name.removesuffix("_FILE")
        assert f'"{base}"' in sources, f"{name} is set in the example but read nowhere"
    assert env["MEDSHIELD_BEHIND_TLS_PROXY"] == "1"
    assert env["MEDSHIELD_CSRF_TRUSTED_ORIGINS"].startswith("https://")


def test_nginx_takes_the_largest_upload_medshield_takes() -> None:
    env = _settings((DEPLOY / "medshield.env.example").read_text())
    nginx = (DEPLOY / "nginx-medshield.conf").read_text()
    [limit] = re.findall(r"^\s*client_max_body_size (\d+)m;", nginx, re.M)
    assert int(limit) > int(env["MEDSHIELD_MAX_UPLOAD_MB"])
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert re.search(r"listen 443 ssl", nginx) and "ssl_certificate " in nginx


def test_the_units_start_commands_that_exist() -> None:
    from medshield.cli import _commands

    commands = _commands()
    for unit, command in [
        ("medshield-web.service", "serve"),
        ("medshield-worker.service", "worker"),
    ]:
        text = (DEPLOY / unit).read_text()
        [start] = re.findall(r"^ExecStart=\S+/medshield (\w+)", text, re.M)
        assert start == command and command in commands
        assert "EnvironmentFile=/etc/medshield/medshield.env" in text


def test_the_readme_production_section_names_every_deploy_file() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    for path in DEPLOY.iterdir():
        assert f"docs/deploy/{path.name}" in section, path.name
    for word in ("SKIP LOCKED", "medshield backup", "medshield restore", "DATABASE_URL"):
        assert word in section
