"""One shape for every API error: ``{"detail": message, "code": word, "errors": [...]}``.

``detail`` is a sentence for a person (in the request's language), ``code`` a stable word for a
script, ``errors`` the field-level problems of a refused input (``loc`` is the path to the value,
``msg`` what is wrong with it). Each exception the API can meet is turned into one of these here,
so a bad request is answered 4xx with a reason and never falls through to a server error.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError


class FieldError(Schema):
    loc: list[str | int]
    msg: str


class ErrorOut(Schema):
    detail: str
    code: str
    errors: list[FieldError] = []


class ApiError(Exception):
    """An error the API answers as it is: status, stable code and a translated message."""

    def __init__(
        self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


#: what each status means in the OpenAPI description of an operation
DESCRIPTIONS = {
    400: "The request body is not JSON.",
    401: "No valid login or API token.",
    403: "The login or token may not do this.",
    404: "No such object (or not visible to this login).",
    409: "The change conflicts with other records (still referred to, or a duplicate).",
    412: "If-Match does not match the object's current ETag: someone changed it since you read it.",
    422: "The input is not valid; `errors` names each problem.",
    428: "If-Match is required: send the ETag you read.",
}


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    return {status: ErrorOut for status in statuses}


def _respond(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    body = {"detail": detail, "code": code, "errors": errors or []}
    return api.create_response(request, body, status=status)


def validation_errors(exc: DjangoValidationError, prefix: tuple[str, ...] = ("body",)) -> list:
    """A model's ValidationError as ``[{"loc": [...], "msg": ...}]``."""
    if hasattr(exc, "error_dict"):
        items = exc.message_dict.items()
    else:
        items = [(NON_FIELD_ERRORS, exc.messages)]
    return [
        {"loc": list(prefix) if field == NON_FIELD_ERRORS else [*prefix, field], "msg": str(msg)}
        for field, messages in items
        for msg in messages
    ]


def _location(loc: Any) -> list[str]:
    """``("body", "payload", "name")`` -> ``["body", "name"]``: the operation's parameter name
    (``payload``, ``query``) means nothing to a client."""
    parts = [str(p) for p in loc]
    if len(parts) > 2 and parts[1] in {"payload", "query"}:
        del parts[1]
    return parts


def install(api: NinjaAPI) -> None:
    """Register the handlers on ``api``."""

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return _respond(api, request, exc.status, exc.code, exc.detail, exc.errors)

    @api.exception_handler(NinjaValidationError)
    def invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {"loc": _location(error.get("loc", ())), "msg": str(error.get("msg", ""))}
            for error in exc.errors
        ]
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return _respond(
            api,
            request,
            422,
            "invalid",
            _("The request is not valid: {problems}").format(problems=summary),
            errors,
        )

    @api.exception_handler(DjangoValidationError)
    def invalid_object(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        errors = validation_errors(exc)
        summary = "; ".join(
            f"{e['loc'][-1] if len(e['loc']) > 1 else '-'}: {e['msg']}" for e in errors[:5]
        )
        return _respond(
            api,
            request,
            422,
            "invalid",
            _("The request is not valid: {problems}").format(problems=summary),
            errors,
        )

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _respond(
            api,
            request,
            401,
            "not_authenticated",
            _("Log in or send an API token (Authorization: Bearer ...)."),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(AuthorizationError)
    def not_allowed(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return _respond(api, request, 403, "forbidden", str(exc.message))

    @api.exception_handler(PermissionDenied)
    def denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return _respond(api, request, 403, "forbidden", str(exc) or _("You may not do this."))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            message = _("The request body is not valid JSON.")
            return _respond(api, request, 400, "bad_request", message)
        code = "forbidden" if exc.status_code == 403 else "error"
        return _respond(api, request, exc.status_code, code, str(exc.message))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, 404, "not_found", _("Not found."))

    @api.exception_handler(ProtectedError)
    @api.exception_handler(RestrictedError)
    def still_used(request: HttpRequest, exc: ProtectedError | RestrictedError) -> HttpResponse:
        users = sorted({str(obj) for obj in list(exc.args[1])[:10]}) if len(exc.args) > 1 else []
        return _respond(
            api,
            request,
            409,
            "protected",
            _("It cannot be deleted while other records refer to it: {objects}").format(
                objects=", ".join(users) or "-"
            ),
        )

    @api.exception_handler(IntegrityError)
    def conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        return _respond(
            api,
            request,
            409,
            "conflict",
            _("The change conflicts with another record (a duplicate?); nothing was saved."),
        )
