"""The role table becomes Django groups; createuser and `user role` assign roles; refusals."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from medshield.accounts import roles
from medshield.accounts.models import Profile, Role
from medshield.audit.models import AuditAction, AuditEvent


def perms_of(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{app}.{code}"
        for app, code in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_migrate_created_every_role_group_with_the_tables_permissions(db: None) -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}
    assert perms_of("administrator") == {
        f"{a}.{c}" for a, c in Permission.objects.values_list("content_type__app_label", "codename")
    }
    viewer = perms_of("viewer")
    assert "assets.view_asset" in viewer and "assets.change_asset" not in viewer
    assert "accounts.export_data" not in viewer
    auditor = perms_of("auditor")
    assert {"accounts.view_audit", "accounts.view_history", "audit.view_auditevent"} <= auditor
    assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in auditor)
    assert perms_of("manufacturer") <= {
        "assets.view_asset", "findings.view_finding", *roles.VIEW_SBOMS,
    }  # fmt: skip


def test_the_sync_skips_codenames_without_a_permission_row(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = dict(roles.ROLE_PERMISSIONS)
    table[Role.VIEWER] = frozenset({"assets.view_asset", "nosuchapp.view_thing"})
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", table)
    roles.sync_roles()
    assert perms_of("viewer") == {"assets.view_asset"}


def test_the_sync_removes_permissions_added_by_hand(db: None) -> None:
    viewer = Group.objects.get(name="viewer")
    viewer.permissions.add(Permission.objects.get(codename="delete_asset"))
    roles.sync_roles()
    assert "assets.delete_asset" not in perms_of("viewer")


def run(*args: str, **env: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createuser_gives_roles_and_a_manufacturer(
    db: None, monkeypatch: pytest.MonkeyPatch, django_user_model: Any
) -> None:
    monkeypatch.setenv("MEDSHIELD_PASSWORD", "a-long-enough-secret-9")
    run("createuser", "kensa", "--role", "auditor", "--role", "viewer")
    user = django_user_model.objects.get(username="kensa")
    assert roles.roles_of(user) == ["auditor", "viewer"]
    run("createuser", "terumo", "--role", "manufacturer", "--manufacturer", "テルモ")
    assert Profile.objects.get(user__username="terumo").manufacturer == "テルモ"
    with pytest.raises(CommandError, match="needs --manufacturer"):
        run("createuser", "nameless", "--role", "manufacturer")
    assert not django_user_model.objects.filter(username="nameless").exists()
    with pytest.raises(CommandError, match="cannot hold other roles"):
        run("createuser", "mixed", "--role", "manufacturer", "--role", "viewer",
            "--manufacturer", "テルモ")  # fmt: skip
    run("createuser", "boss", "--admin")
    assert django_user_model.objects.get(username="boss").is_superuser


def test_user_role_replaces_the_roles_and_is_audited(
    db: None, django_user_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDSHIELD_PASSWORD", "a-long-enough-secret-9")
    run("createuser", "tanaka", "--role", "viewer")
    run("user_role", "tanaka", "it_staff")
    user = django_user_model.objects.get(username="tanaka")
    assert roles.roles_of(user) == ["it_staff"]
    events = AuditEvent.objects.filter(action=AuditAction.ACCOUNT, target="tanaka").order_by("id")
    assert [e.detail for e in events] == [
        {"event": "created", "roles": ["viewer"], "admin": False},
        {"roles_before": ["viewer"], "roles": ["it_staff"]},
    ]
    listing = run("user_list")
    assert "tanaka" in listing and "it_staff" in listing


@pytest.mark.usefixtures("english")
def test_a_refusal_is_a_finished_page_and_an_audit_record(personas: dict[str, Any]) -> None:
    client = Client()
    client.force_login(personas["viewer"])
    response = client.get(reverse("register-export"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Access denied" in body and "ask an administrator" in body and "<nav" in body
    event = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert (event.username, event.target) == ("viewer-user", "register-export")
    assert event.detail == {"permission": "accounts.export_data", "reason": "missing permission"}


def test_the_refusal_page_is_in_japanese(personas: dict[str, Any]) -> None:
    client = Client()
    client.force_login(personas["viewer"])
    assert "アクセスが拒否されました" in client.get(reverse("register-export")).content.decode()


def test_api_refusals_are_json(
    settings: Any, personas: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from medshield.accounts import policy

    settings.ROOT_URLCONF = "tests.accounts.urls_extra"
    rules = {**policy.rules(), "test-api-probe": {"GET": "accounts.export_data"}}
    monkeypatch.setattr(policy, "rules", lambda: rules)
    anonymous = Client().get("/api/probe/")
    assert anonymous.status_code == 401 and anonymous.json()["detail"]
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    viewer = Client()
    viewer.force_login(personas["viewer"])
    assert viewer.get("/api/probe/").status_code == 403
    admin = Client()
    admin.force_login(personas["administrator"])
    assert admin.get("/api/probe/").json() == {"ok": True}
    # a method the rule does not name is refused
    assert admin.delete("/api/probe/").status_code == 405


def test_the_session_is_written_at_most_once_a_minute(
    engineer_client: Client, hospital: Any
) -> None:
    from django.contrib.sessions.models import Session

    key = engineer_client.session.session_key
    before = Session.objects.get(session_key=key).expire_date
    engineer_client.get(reverse("asset-list"))
    assert Session.objects.get(session_key=key).expire_date == before  # just logged in
    session = engineer_client.session
    session["medshield_seen"] = 0  # as if the last refresh was long ago
    session.save()
    saved = Session.objects.get(session_key=key).expire_date
    import time

    time.sleep(1.1)
    engineer_client.get(reverse("asset-list"))
    assert Session.objects.get(session_key=key).expire_date > saved


def test_a_role_or_manufacturer_change_counts_from_the_next_request(
    db: None, django_user_model: Any, hospital: Any
) -> None:  # what medshield.accounts.access keeps is kept for one request only
    user = django_user_model.objects.create_user("changing")
    roles.apply_roles(user, [Role.VIEWER], None)
    client = Client()
    client.force_login(user)
    edit = reverse("asset-edit", args=[hospital.pump.asset_tag])
    assert client.get(edit).status_code == 403
    roles.apply_roles(user, [Role.CLINICAL_ENGINEER], None)
    assert client.get(edit).status_code == 200
    listing = reverse("asset-list")
    assert hospital.switch.asset_tag in client.get(listing).content.decode()
    roles.apply_roles(user, [Role.MANUFACTURER], "テルモ")  # the pump's maker only
    body = client.get(listing).content.decode()
    assert hospital.pump.asset_tag in body and hospital.switch.asset_tag not in body
