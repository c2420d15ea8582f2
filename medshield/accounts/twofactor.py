"""The second factor (TOTP) at login: who must give a code, and who must first enrol.

After the password step, :func:`on_login` marks the session: ``verify`` when the user has a
confirmed TOTP device, ``enrol`` when ``MEDSHIELD_REQUIRE_2FA`` is on and the user has none.
While the mark is there, :class:`medshield.accounts.middleware.PermissionMiddleware` lets the
session reach only the code and enrolment pages (and logout). The mark lives in the server-side
session, so a client cannot remove it; API token requests carry no session and are not marked.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

SESSION_FLAG = "medshield_2fa"
VERIFY = "verify"
ENROL = "enrol"
#: the URL names a marked session may still open, per step owed
OPEN_DURING = {
    VERIFY: frozenset({"login", "logout", "set_language", "otp-verify"}),
    ENROL: frozenset({"login", "logout", "set_language", "otp-setup"}),
}


def required_for_everyone() -> bool:
    return bool(getattr(settings, "MEDSHIELD_REQUIRE_2FA", False))


def confirmed_device(user: Any) -> TOTPDevice | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def on_login(request: HttpRequest, user: Any) -> None:
    """Mark a fresh session with the step still owed (called from the user_logged_in signal)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    if confirmed_device(user) is not None:
        session[SESSION_FLAG] = VERIFY
    elif required_for_everyone():
        session[SESSION_FLAG] = ENROL
    else:
        session.pop(SESSION_FLAG, None)


def outstanding(request: HttpRequest) -> str | None:
    """``verify`` or ``enrol`` while the session's login still owes a step, else None."""
    session = getattr(request, "session", None)
    if session is None or session.get(SESSION_KEY) is None:
        return None  # not a session login (anonymous, or an API token)
    flag = session.get(SESSION_FLAG)
    return flag if flag in (VERIFY, ENROL) else None


def done(request: HttpRequest) -> None:
    request.session.pop(SESSION_FLAG, None)


def secret_of(device: TOTPDevice) -> str:
    """The key as authenticator apps want it typed by hand (base32, no padding)."""
    return b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(uri: str) -> str | None:
    """An inline SVG QR code of ``uri`` (segno is pure Python); None if segno is missing."""
    try:
        import segno
    except ImportError:
        return None
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2))
