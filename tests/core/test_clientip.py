"""The client's address for the audit log and the lockout, behind the TLS proxy and without."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.core.clientip import client_ip

PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


def _request(forwarded: str | None):  # type: ignore[no-untyped-def]
    extra = {"REMOTE_ADDR": "10.0.0.5"}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_proxy_the_header_is_ignored() -> None:
    assert client_ip(_request("192.0.2.7")) == "10.0.0.5"


@override_settings(SECURE_PROXY_SSL_HEADER=PROXY)
@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("192.0.2.7", "192.0.2.7"),
        # a client-sent entry first, then the address nginx appended: only the last counts
        ("203.0.113.66, 192.0.2.7", "192.0.2.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("not-an-address", "10.0.0.5"),
        (None, "10.0.0.5"),
    ],
)
def test_behind_the_proxy_the_last_forwarded_entry_is_the_client(
    forwarded: str | None, expected: str
) -> None:
    assert client_ip(_request(forwarded)) == expected


@pytest.mark.django_db
@override_settings(SECURE_PROXY_SSL_HEADER=PROXY)
def test_the_audit_log_records_the_client_behind_the_proxy() -> None:
    event = record(AuditAction.EXPORT, request=_request("203.0.113.66, 192.0.2.7"))
    event.refresh_from_db()
    assert event.ip == "192.0.2.7"
