"""API tokens: stored hashed, shown once, scoped, expiring, revocable, audited."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from medshield.api.models import ApiToken, TokenScope
from medshield.audit.models import AuditAction, AuditEvent
from tests.api.conftest import make_token

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def test_it_stores_only_the_prefix_and_the_hash(admin):
    token, text = ApiToken.issue(admin, name="backup", scope=TokenScope.READ, days=10)
    secret = text.split("_", 2)[2]
    assert text.startswith(f"ms_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = ApiToken.objects.values_list(flat=True).filter(pk=token.pk)
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in {str(v) for v in row.values()}
    assert stored.exists()
    assert ApiToken.find(text) == token
    assert ApiToken.find(text[:-1] + ("A" if text[-1] != "A" else "B")) is None
    assert ApiToken.find("ms_nonsense") is None


def test_it_refuses_bad_lifetimes_and_scopes(admin):
    with pytest.raises(ValueError, match="days"):
        ApiToken.issue(admin, name="x", scope=TokenScope.READ, days=0)
    with pytest.raises(ValueError, match="days"):
        ApiToken.issue(admin, name="x", scope=TokenScope.READ, days=366)
    with pytest.raises(ValueError, match="scope"):
        ApiToken.issue(admin, name="x", scope="admin", days=1)
    assert not ApiToken.objects.exists()


def test_a_token_authenticates_as_its_login(admin, hospital, client):
    response = client.get("/api/assets/", headers=bearer(make_token(admin, TokenScope.READ)))
    assert response.status_code == 200
    assert response.json()["count"] == 5


def test_it_answers_401_json_for_unknown_revoked_and_expired_tokens(admin, client):
    revoked, revoked_text = ApiToken.issue(admin, name="r", scope=TokenScope.READ, days=1)
    revoked.revoke()
    expired, expired_text = ApiToken.issue(admin, name="e", scope=TokenScope.READ, days=1)
    ApiToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    for text, code in [
        ("ms_000000000000_nope", "invalid_token"),
        ("garbage", "invalid_token"),
        ("", "invalid_token"),
        (revoked_text, "token_revoked"),
        (expired_text, "token_expired"),
    ]:
        response = client.get("/api/assets/", headers=bearer(text))
        assert response.status_code == 401, text
        assert response.json()["code"] == code
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(action=AuditAction.DENIED).count() == 5


def test_a_disabled_logins_token_stops_working(admin, client):
    text = make_token(admin)
    admin.is_active = False
    admin.save()
    response = client.get("/api/sites/", headers=bearer(text))
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_a_read_token_may_only_read(admin, hospital, client):
    text = make_token(admin, TokenScope.READ)
    assert client.get("/api/sites/", headers=bearer(text)).status_code == 200
    response = client.post(
        "/api/zones/", {"name": "guest"}, content_type="application/json", headers=bearer(text)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
    response = client.delete(f"/api/sites/{hospital.site.pk}/", headers=bearer(text))
    assert response.status_code == 403
    events = AuditEvent.objects.filter(action=AuditAction.DENIED)
    assert [(e.username, e.detail["reason"]) for e in events] == [
        ("admin", "read_only_token"),
        ("admin", "read_only_token"),
    ]


def test_a_write_token_needs_no_csrf_token_but_a_session_does(admin, hospital):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        "/api/zones/",
        {"name": "guest"},
        content_type="application/json",
        headers=bearer(make_token(admin)),
    )
    assert response.status_code == 201, response.content

    csrf_client.force_login(admin)
    response = csrf_client.post(
        "/api/zones/", {"name": "dmz"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    # With the token Django gave the browser, the same session write goes through.
    csrf_client.get("/api/tokens/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/api/zones/", {"name": "dmz"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content


def test_a_token_cannot_manage_tokens(admin, client):
    response = client.post("/api/tokens/", {"name": "more"}, headers=bearer(make_token(admin)))
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_last_used_is_recorded(admin, client):
    text = make_token(admin)
    assert ApiToken.objects.get().last_used is None
    client.get("/api/zones/", headers=bearer(text))
    assert ApiToken.objects.get().last_used is not None


def test_the_page_shows_a_new_token_once_and_revokes_own_tokens(admin, django_user_model):
    browser = Client()
    browser.force_login(admin)
    response = browser.post("/api/tokens/", {"name": "nightly export", "scope": "read", "days": 7})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    text = response.context["created"]
    assert ApiToken.find(text) == token
    assert text.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert token.expires_at - token.created == datetime.timedelta(days=7)
    # Afterwards the page lists it by prefix only.
    listing = browser.get("/api/tokens/")
    assert token.prefix.encode() in listing.content
    assert text.encode() not in listing.content

    other = django_user_model.objects.create_user("other")
    theirs, _text = ApiToken.issue(other, name="theirs", scope=TokenScope.READ, days=1)
    assert browser.post(f"/api/tokens/{theirs.pk}/revoke/").status_code == 404
    assert browser.post(f"/api/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    theirs.refresh_from_db()
    assert token.is_revoked and not theirs.is_revoked

    events = AuditEvent.objects.filter(action=AuditAction.TOKEN).order_by("id")
    assert [e.detail["event"] for e in events] == ["created", "revoked"]
    assert all(e.username == "admin" for e in events)
    assert events[0].detail["scope"] == "read"


def test_the_page_refuses_bad_input_and_anonymous_users(admin, client):
    # to the login page, or 401 where the permission middleware answers /api/ itself
    assert client.get("/api/tokens/").status_code in {302, 401}
    client.force_login(admin)
    response = client.post("/api/tokens/", {"name": "", "scope": "root", "days": 999})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "scope", "days"}
    assert not ApiToken.objects.exists()


def test_the_commands_create_list_and_revoke(admin):
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", "admin", name="ci", scope="write", days=30, stdout=out, stderr=err)
    text = out.getvalue().strip()
    token = ApiToken.find(text)
    assert token is not None and token.scope == "write" and token.user == admin
    assert "shown only now" in err.getvalue()

    listing = io.StringIO()
    call_command("token_list", stdout=listing)
    assert token.prefix in listing.getvalue() and "active" in listing.getvalue()
    assert text not in listing.getvalue()

    revoked = io.StringIO()
    call_command("token_revoke", token.prefix, stdout=revoked)
    assert "revoked" in revoked.getvalue()
    assert ApiToken.objects.get().is_revoked
    again = io.StringIO()
    call_command("token_revoke", text, stdout=again)
    assert "already" in again.getvalue()

    events = AuditEvent.objects.filter(action=AuditAction.TOKEN).order_by("id")
    assert [e.detail["event"] for e in events] == ["created", "revoked"]
    assert events[0].detail["via"] == "command line"


def test_the_commands_refuse_bad_arguments(admin):
    with pytest.raises(CommandError, match="no login"):
        call_command("token_create", "nobody", name="x")
    with pytest.raises(CommandError, match="days"):
        call_command("token_create", "admin", name="x", days=0)
    with pytest.raises(CommandError, match="no token"):
        call_command("token_revoke", "ffffffffffff")
    assert not ApiToken.objects.exists()
