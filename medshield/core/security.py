"""Response headers a browser enforces, and a request-size limit enforced before any parsing.

Content-Security-Policy is the second line behind template auto-escaping: the pages show names
and notes that came from imported spreadsheets and feeds, so a value that slips past escaping
must still not run. Scripts come from our own static files only; no inline script, no
``eval`` (htmx's is switched off by a meta tag in base.html), no plugins, no framing, no form
posts to other sites.

The upload limit refuses an oversized request from its ``Content-Length`` before Django reads
a byte of the body; a chunked body (no length) is counted as it is read and refused the moment
it passes the limit. It runs before CsrfViewMiddleware, which is the first to read a form body.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

#: The <style> svg-pan-zoom adds to a diagram's SVG for its zoom buttons (svg-pan-zoom 3.6,
#: src/control-icons.js). Allowed by hash so that style-src needs no 'unsafe-inline'.
SVG_PAN_ZOOM_STYLE = (
    ".svg-pan-zoom-control { cursor: pointer; fill: black; fill-opacity: 0.333; } "
    ".svg-pan-zoom-control:hover { fill-opacity: 0.8; } "
    ".svg-pan-zoom-control-background { fill: white; fill-opacity: 0.5; } "
    ".svg-pan-zoom-control-background { fill-opacity: 0.8; }"
)

#: Inline scripts allowed by their hash: none (page behaviour lives in
#: medshield/web/static/medshield/medshield.js). tests/safety/test_headers.py fails on any inline
#: script in a template that is not listed here.
LEGACY_INLINE_SCRIPTS: dict[str, str] = {}

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
    )
)


def csp_hash(text: str) -> str:
    """The CSP hash-source of an inline script or style: ``'sha256-...'``."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def content_security_policy() -> str:
    """The policy every page is served with."""
    scripts = " ".join(f"'{h}'" for h in LEGACY_INLINE_SCRIPTS.values())
    directives = [
        "default-src 'self'",
        f"script-src 'self' {scripts}".strip(),
        f"style-src 'self' {csp_hash(SVG_PAN_ZOOM_STYLE)}",
        # style="" attributes (a few layout widths in templates, Graphviz's SVG): they cannot
        # run code or read the page, unlike <style> elements, which stay restricted above.
        "style-src-attr 'unsafe-inline'",
        # Bootstrap draws its icons (select arrows, navbar toggler) as data: SVG images.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Content-Security-Policy, Permissions-Policy and Cross-Origin-Resource-Policy.

    Django's SecurityMiddleware sets HSTS, nosniff, Referrer-Policy and
    Cross-Origin-Opener-Policy; XFrameOptionsMiddleware sets X-Frame-Options.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


def max_request_bytes() -> int:
    """The largest request body accepted: the upload limit plus 1 MiB for the form around it."""
    return (int(settings.MAX_UPLOAD_MB) + 1) * 1024 * 1024


class TooLarge(Exception):
    """A chunked body went past the limit while it was being read."""


def _too_large(request: HttpRequest, size: int | None) -> HttpResponse:
    limit = int(settings.MAX_UPLOAD_MB)
    if size is None:
        message = _(
            "The upload is larger than {limit} MB, the limit (MEDSHIELD_MAX_UPLOAD_MB); it was "
            "refused before it was stored."
        ).format(limit=limit)
    else:
        message = _(
            "The upload is {size:.1f} MB; the limit is {limit} MB (MEDSHIELD_MAX_UPLOAD_MB). "
            "It was refused before it was stored."
        ).format(size=size / 1024 / 1024, limit=limit)
    wants_json = request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")
    if wants_json:
        return JsonResponse({"error": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _spool_chunked(stream: object, limit: int) -> tempfile.SpooledTemporaryFile[bytes]:
    """Copy a body of unknown length into a spool file, refusing it past ``limit`` bytes."""
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
        max_size=int(settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
    )
    read = stream.read  # type: ignore[attr-defined]
    total = 0
    while chunk := read(64 * 1024):
        total += len(chunk)
        if total > limit:
            spool.close()
            raise TooLarge
        spool.write(chunk)
    spool.seek(0)
    return spool


class UploadLimitMiddleware:
    """Refuse request bodies over :func:`max_request_bytes` with 413, before anything reads them.

    With a ``Content-Length`` the check costs nothing. Without one (``Transfer-Encoding:
    chunked``, which gunicorn decodes but Django would otherwise read as empty) the body is
    counted into a spool file, refused the moment it passes the limit, and otherwise handed to
    Django with its now-known length.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max_request_bytes()
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        if raw_length.strip():
            try:
                length = int(raw_length)
            except ValueError:
                return HttpResponse(
                    _("The request's Content-Length is not a number."),
                    status=400,
                    content_type="text/plain; charset=utf-8",
                )
            if length > limit:
                return _too_large(request, length)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            stream = request.META.get("wsgi.input")
            if stream is not None:
                try:
                    spool = _spool_chunked(stream, limit)
                except TooLarge:
                    return _too_large(request, None)
                size = spool.seek(0, 2)
                spool.seek(0)
                request.META["CONTENT_LENGTH"] = str(size)
                request._stream = LimitedStream(spool, size)  # type: ignore[attr-defined]
                request._spool = spool  # type: ignore[attr-defined]  # closed with the request
        return self.get_response(request)
