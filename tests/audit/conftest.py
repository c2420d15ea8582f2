"""Personas and helpers for the audit log's tests: an auditor, a login without the right."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import translation

from medshield.assets.models import Asset
from medshield.audit.log import record
from medshield.audit.models import AuditEvent
from medshield.core.models import ObjectChange


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages in English (the source language), whatever the catalogues hold."""
    with translation.override("en"):
        yield


def _grant(user: Any, *names: str) -> Any:
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def auditor(django_user_model: Any, staff_password: str) -> Any:
    """A login holding only what the auditor role needs here: seeing the audit log."""
    user = django_user_model.objects.create_user("auditor", password=staff_password)
    return _grant(user, "accounts.view_audit", "assets.view_asset")


@pytest.fixture
def auditor_client(client: Client, auditor: Any) -> Client:
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def viewer_client(django_user_model: Any, staff_password: str) -> Client:
    """A login that may read the register but not the audit log (a client of its own)."""
    user = django_user_model.objects.create_user("viewer", password=staff_password)
    _grant(user, "assets.view_asset")
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def event_at(when: datetime.datetime, action: str = "login", **fields: Any) -> AuditEvent:
    """An audit event stamped ``when`` (the model stamps "now" itself, so the clock is set)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        return record(action, **fields)


def change_at(
    when: datetime.datetime,
    obj: Any = None,
    *,
    action: str = "update",
    user_name: str = "engineer",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
) -> ObjectChange:
    """A history row stamped ``when`` (about ``obj``, or about a made-up asset id)."""
    return ObjectChange.objects.create(
        time=when,
        user_name=user_name,
        action=action,
        object_type=ContentType.objects.get_for_model(Asset),
        object_id=obj.pk if obj is not None else 999_999,
        object_repr=object_repr or (str(obj) if obj is not None else "gone"),
        changes=changes if changes is not None else {"name": ["old", "new"]},
    )
