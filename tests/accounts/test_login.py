"""Login: lockout after repeated failures, the TOTP second step, audit records, argon2."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from medshield.audit.models import AuditAction, AuditEvent


def post_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app shows now, computed from the device's own key."""
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(
        device.digits
    )


@pytest.mark.usefixtures("english")
def test_it_locks_a_user_out_after_repeated_failures(
    client: Client, engineer: Any, staff_password: str, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = post_login(client, "engineer", "wrong")
        assert response.status_code == 200
        assert "The user name or password is wrong" in response.content.decode()
    locked = post_login(client, "engineer", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # now even the right password is refused from this address...
    again = post_login(client, "engineer", staff_password)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but the lockout is per user name and address: another address may still log in
    other = Client()
    ok = post_login(other, "engineer", staff_password, REMOTE_ADDR="10.0.0.9")
    assert ok.status_code == 302
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, username="engineer")
    assert failures.count() == 4


def test_behind_the_proxy_the_lockout_is_per_client_not_per_proxy(
    engineer: Any, staff_password: str, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    via_proxy = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"}
    attacker = Client(**via_proxy, HTTP_X_FORWARDED_FOR="192.0.2.66")
    for _ in range(2):
        post_login(attacker, "engineer", "wrong")
    assert post_login(attacker, "engineer", staff_password).status_code == 429
    # the same proxy, another client: not locked out
    nurse = Client(**via_proxy, HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert post_login(nurse, "engineer", staff_password).status_code == 302


def test_it_shows_the_lockout_in_japanese(client: Client, engineer: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 1
    response = post_login(client, "engineer", "wrong")
    assert response.status_code == 429
    assert "ログイン" in response.content.decode() and "ロック" in response.content.decode()


def test_the_unlock_command_lifts_a_lockout(
    client: Client, engineer: Any, staff_password: str, settings: Any
) -> None:
    from django.core.management import call_command

    settings.AXES_FAILURE_LIMIT = 1
    assert post_login(client, "engineer", "wrong").status_code == 429
    call_command("user_unlock", "engineer", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert post_login(client, "engineer", staff_password).status_code == 302


def test_login_and_logout_are_audited(client: Client, engineer: Any, staff_password: str) -> None:
    post_login(client, "engineer", staff_password)
    client.post(reverse("logout"))
    actions = list(
        AuditEvent.objects.filter(username="engineer")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [AuditAction.LOGIN, AuditAction.LOGOUT]


@pytest.fixture
def enrolled(engineer: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=engineer, name="phone", confirmed=True)


def test_an_enrolled_user_must_give_the_code(
    client: Client, engineer: Any, staff_password: str, enrolled: TOTPDevice, settings: Any
) -> None:
    # django-otp makes the next try wait after a wrong code; this test retries at once
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    response = post_login(client, "engineer", staff_password)
    assert response.status_code == 302
    # the password alone opens nothing: every page sends it to the code step
    page = client.get(reverse("asset-list"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("otp-verify"))
    assert client.get(reverse("register-export")).status_code == 302
    bad = "000000" if code_for(enrolled) != "000000" else "111111"
    wrong = client.post(reverse("otp-verify"), {"token": bad})
    assert wrong.status_code == 400
    assert client.get(reverse("asset-list")).status_code == 302
    ok = client.post(reverse("otp-verify"), {"token": code_for(enrolled), "next": "/assets/"})
    assert ok.status_code == 302 and ok["Location"] == "/assets/"
    assert client.get(reverse("asset-list")).status_code == 200
    steps = [
        e.detail.get("step") for e in AuditEvent.objects.filter(username="engineer").order_by("id")
    ]
    assert steps == ["password", "totp", "totp"]  # login, failed code, accepted code


def test_the_code_page_refuses_a_foreign_next(
    client: Client, engineer: Any, staff_password: str, enrolled: TOTPDevice
) -> None:
    post_login(client, "engineer", staff_password)
    ok = client.post(
        reverse("otp-verify"), {"token": code_for(enrolled), "next": "https://evil.example/"}
    )
    assert ok.status_code == 302 and ok["Location"] == reverse("asset-list")


def test_a_user_enrols_with_the_key_shown(engineer_client: Client, engineer: Any) -> None:
    page = engineer_client.get(reverse("otp-setup"))
    body = page.content.decode()
    assert page.status_code == 200 and "otpauth://totp/" in body and "<svg" in body
    device = TOTPDevice.objects.get(user=engineer, confirmed=False)
    from medshield.accounts.twofactor import secret_of

    assert secret_of(device) in body
    refused = engineer_client.post(reverse("otp-setup"), {"token": "12345"})
    assert refused.status_code == 400
    done = engineer_client.post(reverse("otp-setup"), {"token": code_for(device)})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT, username="engineer").exists()


def test_require_2fa_forces_enrolment(
    client: Client, engineer: Any, staff_password: str, settings: Any
) -> None:
    settings.MEDSHIELD_REQUIRE_2FA = True
    post_login(client, "engineer", staff_password)
    page = client.get(reverse("asset-list"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("otp-setup"))
    assert client.get(reverse("otp-setup")).status_code == 200
    device = TOTPDevice.objects.get(user=engineer)
    client.post(reverse("otp-setup"), {"token": code_for(device)})
    assert client.get(reverse("asset-list")).status_code == 200


def test_production_settings_hash_with_argon2() -> None:
    code = (
        "import django; django.setup();"
        "from django.conf import settings; from django.contrib.auth.hashers import make_password;"
        "print(settings.PASSWORD_HASHERS[0]); print(make_password('x').split('$')[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medshield.settings"},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.split() == ["django.contrib.auth.hashers.Argon2PasswordHasher", "argon2"]
