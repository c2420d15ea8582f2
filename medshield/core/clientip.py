"""The address a request came from, for the audit log and the login lockout.

Behind the TLS proxy the README asks for, every request comes from the proxy's address; the
client's is in ``X-Forwarded-For``. Only the last entry of that header is trusted: nginx's
``$proxy_add_x_forwarded_for`` appends the address it saw, while earlier entries came from the
client and can be anything. The proxy is trusted exactly when Django trusts its
``X-Forwarded-Proto`` (``SECURE_PROXY_SSL_HEADER``, set by ``MEDSHIELD_BEHIND_TLS_PROXY`` or
``MEDSHIELD_ENV=production``); without a proxy the header is ignored, since anyone can send it.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    last = forwarded.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return remote
