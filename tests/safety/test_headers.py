"""Security headers on every page, no inline script, and the request-size limit (413)."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.template.loaders.app_directories import get_app_template_dirs

from medshield.core.security import LEGACY_INLINE_SCRIPTS, content_security_policy, csp_hash
from tests.safety.conftest import MEDSHIELD, child_env, medshield

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _templates() -> list[Path]:
    return [
        path
        for folder in get_app_template_dirs("templates")
        if "/medshield/" in str(folder)
        for path in Path(folder).rglob("*.html")
    ]


def test_no_template_has_an_event_handler_attribute() -> None:
    offenders = [str(p) for p in _templates() if _HANDLER.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_inline_script_is_a_listed_legacy_one() -> None:
    """A new inline script would be blocked by the CSP; a listed one that is gone is dead."""
    found: dict[str, list[str]] = {}
    for path in _templates():
        name = "/".join(path.parts[path.parts.index("templates") + 1 :])
        for body in _INLINE_SCRIPT.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(csp_hash(body).strip("'"))
    assert found == {name: [digest] for name, digest in LEGACY_INLINE_SCRIPTS.items()}


@pytest.mark.django_db
def test_pages_carry_the_policy_headers(client, engineer) -> None:  # type: ignore[no-untyped-def]
    client.force_login(engineer)
    for url in ("/login/", "/assets/", "/diagrams/network/", "/discovery/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        csp = response.headers["Content-Security-Policy"]
        assert csp == content_security_policy()
        assert (
            "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
        )
        assert "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get("/assets/").content.decode()
    assert '"allowEval":false' in page
    assert "medshield/medshield.js" in page


@pytest.mark.django_db
def test_an_oversized_body_is_refused_from_its_length(client, engineer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_UPLOAD_MB = 1
    client.force_login(engineer)
    big = b"x" * (3 * 1024 * 1024)
    response = client.post(
        "/register/import/", data=big, content_type="application/octet-stream",
    )  # fmt: skip
    assert response.status_code == 413
    assert "MEDSHIELD_MAX_UPLOAD_MB" in response.content.decode()
    assert "3.0 MB" in response.content.decode()
    # A lying header is enough: nothing is read.
    response = client.post(
        "/register/import/", data=b"", content_type="application/octet-stream",
        CONTENT_LENGTH=str(10 * 1024**3),
    )  # fmt: skip
    assert response.status_code == 413
    api = client.post("/api/assets/", data=big, content_type="application/json")
    assert api.status_code == 413 and "error" in api.json()
    # Under the limit the request reaches the view (which answers for itself).
    small = client.post("/register/import/", data=b"x", content_type="application/octet-stream")
    assert small.status_code != 413


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chunked_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", path)
        for key, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(key, value)
        conn.endheaders()
        try:
            for start in range(0, len(body), 256 * 1024):
                chunk = body[start : start + 256 * 1024]
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_a_chunked_body_is_counted_by_the_real_server(tmp_path: Path) -> None:
    """gunicorn decodes chunked bodies; the middleware counts them and refuses past the limit,
    and hands a small one to Django whole (the login form reads its CSRF token from it)."""
    env = child_env(tmp_path, MEDSHIELD_MAX_UPLOAD_MB="1")
    medshield("migrate", "--no-input", "-v", "0", env=env)
    port = _free_port()
    server = subprocess.Popen(
        [*MEDSHIELD, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/login/", headers={"Accept-Language": "en"})
                login = conn.getresponse()
                page = login.read().decode()
                cookie = login.getheader("Set-Cookie", "")
                conn.close()
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        else:
            pytest.fail("medshield serve did not start")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        csrf_cookie = re.search(r"csrftoken=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            "Accept-Language": "en",
        }
        status, text = _chunked_post(port, "/login/", b"x=" + b"a" * (3 * 1024 * 1024), headers)
        assert status == 413, text
        assert "MEDSHIELD_MAX_UPLOAD_MB" in text
        form = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong-password".encode()
        status, text = _chunked_post(port, "/login/", form, headers)
        # Past CSRF (the token was read from the chunked body) to the form's own refusal.
        assert status == 200, text
        assert 'value="nobody"' in text  # the form was bound to the posted fields
    finally:
        server.terminate()
        server.wait(timeout=30)
