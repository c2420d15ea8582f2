"""The five operations of a register resource, built once from a :class:`Resource` description.

Every resource gets the same behaviour, so a rule fixed here holds everywhere:

* list: ``GET /api/<path>/`` with its filters and ``limit``/``offset`` pagination;
* retrieve: ``GET /api/<path>/<key>/`` with an ``ETag`` header;
* create: ``POST /api/<path>/`` -> 201 with ``ETag`` and ``Location``;
* replace/update: ``PUT``/``PATCH /api/<path>/<key>/`` with ``If-Match`` (412 when stale, 428
  when missing);
* delete: ``DELETE /api/<path>/<key>/`` with ``If-Match`` -> 204 (409 while still referred to).

Writes go through the model: ``clean_fields``, ``clean``, the unique and constraint checks, then
``save()`` of ChangeLoggedModel, which records the change under the acting user. The row is locked
(``select_for_update``) before its ETag is compared, in the transaction that writes it.
Querysets start from the caller's visible assets (a manufacturer's login sees its own devices).
"""

# No `from __future__ import annotations` here: ninja reads the operations' annotations, and the
# schemas they name are built at run time (see _signature).

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Body, Header, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict, Field, create_model

from medshield.api import fields as api_fields
from medshield.api.errors import ApiError, error_responses
from medshield.api.etag import check_if_match, etag_of, is_versioned
from medshield.api.rendering import json_response
from medshield.assets.models import Asset

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class ListQuery(Schema):
    """Pagination shared by every list; resources add their filters and an ``apply``."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
    offset: int = Field(0, ge=0, le=10**9, description="Items to skip")

    def apply(self, queryset: models.QuerySet[Any], user: Any) -> models.QuerySet[Any]:
        return queryset


class StrictInput(Schema):
    """An input body: a field the resource does not have is refused, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Extra:
    """A value that is not a column: an ordered list of assets, a computed label..."""

    name: str
    out_type: Any
    get: Callable[[Any, Any], Any]
    #: the input type; None when the value is read-only
    in_type: Any = None
    default: Any = ...


@dataclass(frozen=True)
class Resource:
    """How one model is offered by the API."""

    model: type[models.Model]
    #: URL segment ("assets") and the stem of its URL names ("asset" -> asset-list, -detail)
    path: str
    name: str
    tag: str
    #: the query schema (a ListQuery subclass) of the list operation
    filters: type[ListQuery]
    #: the visible objects for a user (starting from visible_assets when they hang off assets)
    queryset: Callable[[Any], models.QuerySet[Any]]
    #: fields a client writes; create_only ones are given at creation and then fixed
    fields: tuple[str, ...] = ()
    create_only: tuple[str, ...] = ()
    #: read-only fields shown besides id, the written fields and the timestamps
    read_fields: tuple[str, ...] = ()
    lookup: str = "id"
    extras: tuple[Extra, ...] = ()
    writable: bool = True
    #: called with (object, validated input, user) after the object is cleaned, before it is
    #: saved; raise ApiError or ValidationError to refuse
    check: Callable[[Any, dict[str, Any], Any], None] | None = None
    #: called with (object, validated input, user) after the object is saved (relations)
    after_save: Callable[[Any, dict[str, Any], Any], None] | None = None
    #: Django permission stems: assets.view_asset... (app label, model name)
    perm_app: str = ""
    perm_model: str = ""
    doc: str = ""
    _schemas: dict[str, type[Schema]] = field(default_factory=dict, compare=False)
    _getters: list[tuple[str, Callable[[Any], Any]]] = field(default_factory=list, compare=False)

    # --- schemas --------------------------------------------------------------------------
    def model_field(self, name: str) -> "models.Field[Any, Any]":
        return self.model._meta.get_field(name)  # type: ignore[return-value]

    @property
    def schema_stem(self) -> str:
        return self.model.__name__

    def out_schema(self) -> type[Schema]:
        if "out" not in self._schemas:
            spec: dict[str, Any] = {"id": (int, ...)}
            names = [*self.create_only, *self.fields, *self.read_fields]
            for name in names:
                spec[name] = (api_fields.output_type(self.model_field(name)), ...)
            for extra in self.extras:
                spec[extra.name] = (extra.out_type, ...)
            if is_versioned(self.model):
                spec["created"] = (api_fields.output_type(self.model_field("created")), ...)
                spec["last_updated"] = (
                    api_fields.output_type(self.model_field("last_updated")),
                    ...,
                )
                spec["etag"] = (str, Field(..., description="Send it back in If-Match to write"))
            self._schemas["out"] = create_model(f"{self.schema_stem}Out", __base__=Schema, **spec)
        return self._schemas["out"]

    def in_schema(self, kind: str) -> type[Schema]:
        """``create`` (every field), ``replace`` (PUT: all but create_only) or ``patch``."""
        if kind not in self._schemas:
            names = [*self.create_only, *self.fields] if kind == "create" else list(self.fields)
            spec: dict[str, Any] = {}
            for name in names:
                model_field = self.model_field(name)
                kind_type = api_fields.input_type(model_field)
                default = api_fields.input_default(model_field)
                spec[name] = self._field_spec(kind, kind_type, default)
            for extra in self.extras:
                if extra.in_type is not None:
                    spec[extra.name] = self._field_spec(kind, extra.in_type, extra.default)
            suffix = {"create": "Create", "replace": "Replace", "patch": "Patch"}[kind]
            self._schemas[kind] = create_model(
                f"{self.schema_stem}{suffix}", __base__=StrictInput, **spec
            )
        return self._schemas[kind]

    @staticmethod
    def _field_spec(kind: str, type_: Any, default: Any) -> tuple[Any, Any]:
        if kind == "patch":
            # Absent means "leave as it is"; an explicit null is validated against the type.
            return (type_, Field(None, json_schema_extra=_drop_default))
        if default is ...:
            return (type_, ...)
        return (type_, Field(default))

    # --- objects --------------------------------------------------------------------------
    def getters(self) -> list[tuple[str, Callable[[Any], Any]]]:
        """(output name, reader) of every column the output shows, decided once."""
        if not self._getters:
            names = (*self.create_only, *self.fields, *self.read_fields)
            self._getters.extend(
                (name, api_fields.output_getter(self.model_field(name))) for name in names
            )
        return self._getters

    def serialize(self, obj: Any, user: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"id": obj.pk}
        for name, get in self.getters():
            data[name] = get(obj)
        for extra in self.extras:
            data[extra.name] = extra.get(obj, user)
        if is_versioned(self.model):
            data["created"] = obj.created
            data["last_updated"] = obj.last_updated
            data["etag"] = etag_of(obj)
        return data

    def find(self, user: Any, key: Any) -> Any:
        """The visible object named by ``key``, or 404."""
        obj = self.queryset(user).filter(**{self.lookup: key}).first()
        if obj is None:
            raise self._not_found(key)
        return obj

    def lock(self, user: Any, key: Any) -> Any:
        """Find and lock the row for a write (inside the caller's transaction), or 404.

        One query: the row is locked only if it is among those ``user`` may see."""
        visible = self.queryset(user).filter(**{self.lookup: key}).values("pk")
        locked = self.model._default_manager.select_for_update().filter(pk__in=visible).first()
        if locked is None:
            raise self._not_found(key)
        return locked

    def _not_found(self, key: Any) -> ApiError:
        return ApiError(
            404,
            "not_found",
            _("No {model} {key} (or not visible to your login).").format(
                model=self.model._meta.verbose_name, key=key
            ),
        )


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


# --- references in input ----------------------------------------------------------------------
#: model -> function(user) -> the objects of that model a user may refer to (filled by routes)
REFERENCES: dict[type[models.Model], Callable[[Any], models.QuerySet[Any]]] = {}


def resolve_reference(user: Any, model_field: "models.Field[Any, Any]", value: Any) -> Any:
    """The object a foreign key input names (an asset by tag, others by id); 422 when unknown."""
    if value is None:
        return None
    related: type[models.Model] = model_field.related_model  # type: ignore[assignment]
    visible = REFERENCES.get(related, lambda _user: related._default_manager.all())(user)
    lookup = {"asset_tag": value} if related is Asset else {"pk": value}
    target = visible.filter(**lookup).first()
    if target is None:
        raise ValidationError(
            {
                model_field.name: _("No {model} {value}.").format(
                    model=related._meta.verbose_name, value=value
                )
            }
        )
    return target


def apply_input(obj: Any, data: dict[str, Any], resource: Resource, user: Any) -> None:
    """Set the model fields of ``data`` on ``obj``, resolving references; collect every error."""
    errors: dict[str, Any] = {}
    for name, value in data.items():
        if name not in resource.fields and name not in resource.create_only:
            continue  # an extra: handled by the resource's after_save
        model_field = resource.model_field(name)
        if model_field.is_relation:
            try:
                setattr(obj, model_field.name, resolve_reference(user, model_field, value))
            except ValidationError as exc:
                errors.update(exc.message_dict)
        else:
            setattr(obj, model_field.attname, value)
    if errors:
        raise ValidationError(errors)


def validate(obj: models.Model, unchanged: frozenset[str] = frozenset()) -> None:
    """``full_clean`` in an order that never runs ``clean()`` on values its fields refused.

    Django's ``full_clean`` calls ``clean()`` even when a field failed, and some register
    ``clean()`` methods read their fields as valid (an IP address, a rack's room); a refused value
    must come back as a 422 naming the field, not a server error inside ``clean()``.

    ``unchanged`` names fields an update leaves as they are stored: their own checks (a foreign
    key's target exists, a unique value is not taken) held when they were written, and the
    database still enforces them, so an update of one field does not query for every other.
    A field that shares a uniqueness rule with a changed one is checked all the same.
    """
    try:
        obj.clean_fields(exclude=unchanged)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    obj.clean()
    obj.validate_unique(exclude=unchanged - _sharing_uniqueness(type(obj), unchanged))
    obj.validate_constraints()


def _sharing_uniqueness(model: type[models.Model], unchanged: frozenset[str]) -> set[str]:
    """The unchanged fields that make one unique rule with a changed field."""
    meta = model._meta
    groups = [set(names) for names in meta.unique_together]
    groups += [set(c.fields) for c in meta.constraints if getattr(c, "fields", ())]
    shared: set[str] = set()
    for group in groups:
        if group - unchanged:
            shared |= group & unchanged
    return shared


def unchanged_fields(obj: models.Model, before: dict[str, Any]) -> frozenset[str]:
    """The concrete fields whose value is still what ``before`` (a ``values_of``) recorded."""
    return frozenset(
        f.name
        for f in obj._meta.concrete_fields
        if f.name in before and getattr(obj, f.attname) == before[f.name]
    )


def values_of(obj: models.Model) -> dict[str, Any]:
    return {f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


# --- operations -------------------------------------------------------------------------------
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 422, 428)


def _signature(func: Callable[..., Any], **params: Any) -> Callable[..., Any]:
    """Give ``func(request, **kw)`` the named, typed parameters ninja reads from a signature."""
    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, (annotation, default) in params.items():
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    func.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return func


EMPTY = inspect.Parameter.empty


def _with_response(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the ``response`` parameter through which ninja lets an operation set headers."""
    sig = func.__signature__  # type: ignore[attr-defined]
    first, *rest = sig.parameters.values()
    extra = inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=HttpResponse)
    func.__signature__ = sig.replace(parameters=[first, extra, *rest])  # type: ignore[attr-defined]
    return func


def _key_param(resource: Resource) -> tuple[str, Any]:
    if resource.lookup == "asset_tag":
        return "tag", api_fields.AssetTag
    if resource.lookup == "id":
        return "id", api_fields.Id
    return resource.lookup, api_fields.text(200, 1)


def page_schema(out: type[Schema]) -> type[Schema]:
    return create_model(
        f"{out.__name__}Page",
        __base__=Schema,
        count=(int, ...),
        limit=(int, ...),
        offset=(int, ...),
        items=(list[out], ...),  # type: ignore[valid-type]
    )


def _with_etag(response: HttpResponse, obj: Any, data: dict[str, Any] | None = None) -> None:
    """Set the ETag header (the one ``data``, the object as serialized, carries already)."""
    if is_versioned(type(obj)):
        response["ETag"] = data["etag"] if data is not None else etag_of(obj)


def add_read_routes(router: Router, resource: Resource) -> None:
    """The list and retrieve operations of ``resource``."""
    out = resource.out_schema()
    key_name, key_type = _key_param(resource)
    label, plural = _names(resource)

    names = set(resource.filters.model_fields)

    def list_items(request: HttpRequest, **kw: Any) -> HttpResponse:
        query: ListQuery = kw["query"]
        repeated = sorted(n for n in request.GET if n in names and len(request.GET.getlist(n)) > 1)
        if repeated:
            raise ApiError(
                422,
                "invalid",
                _("Give each filter once: {names}.").format(names=", ".join(repeated)),
                [{"loc": ["query", name], "msg": "given more than once"} for name in repeated],
            )
        queryset = query.apply(resource.queryset(request.user), request.user)
        rows = list(queryset[query.offset : query.offset + query.limit])
        if 0 < len(rows) < query.limit or (not rows and not query.offset):
            total = query.offset + len(rows)  # the last page: no need to count
        else:
            total = queryset.count()
        return json_response(
            {
                "count": total,
                "limit": query.limit,
                "offset": query.offset,
                "items": [resource.serialize(obj, request.user) for obj in rows],
            }
        )

    router.add_api_operation(
        f"/{resource.path}/",
        ["GET"],
        _signature(list_items, query=(Query[resource.filters], EMPTY)),  # type: ignore[misc]
        response={200: page_schema(out), **error_responses(*READ_ERRORS)},
        url_name=f"{resource.name}-list",
        operation_id=f"list_{resource.name.replace('-', '_')}",
        summary=f"List {plural}",
        description=resource.doc,
        tags=[resource.tag],
    )

    def get_item(request: HttpRequest, **kw: Any) -> HttpResponse:
        obj = resource.find(request.user, kw[key_name])
        data = resource.serialize(obj, request.user)
        response = json_response(data)
        _with_etag(response, obj, data)
        return response

    get_item = _signature(get_item, **{key_name: (Path[key_type], EMPTY)})
    router.add_api_operation(
        f"/{resource.path}/{{{key_name}}}/",
        ["GET"],
        get_item,
        response={200: out, **error_responses(*READ_ERRORS)},
        url_name=f"{resource.name}-detail",
        operation_id=f"get_{resource.name.replace('-', '_')}",
        summary=f"Get {label}",
        description=_etag_doc(resource),
        tags=[resource.tag],
    )


def _names(resource: Resource) -> tuple[str, str]:
    """The model's names in English: the schema is read by programmers, whatever the language
    of the process that built it."""
    with translation.override("en"):
        meta = resource.model._meta
        return str(meta.verbose_name), str(meta.verbose_name_plural)


def _etag_doc(resource: Resource) -> str:
    if not is_versioned(resource.model):
        return ""
    return "The `ETag` header is the version to send back in `If-Match` when writing."


IF_MATCH_DOC = (
    "Required: the ETag read from GET (or `*` to overwrite whatever is stored). "
    "Missing: 428; not the current ETag: 412."
)


def add_write_routes(router: Router, resource: Resource) -> None:
    """Create, replace, update and delete operations of ``resource``."""
    out = resource.out_schema()
    key_name, key_type = _key_param(resource)
    label, _plural = _names(resource)
    stem = resource.name.replace("-", "_")
    if_match = (str | None, Header(None, alias="If-Match", description=IF_MATCH_DOC))
    key = (Path[key_type], EMPTY)  # type: ignore[valid-type]

    def create_item(request: HttpRequest, response: HttpResponse, **kw: Any) -> Status:
        data = kw["payload"].model_dump()
        with transaction.atomic():
            obj = resource.model()
            apply_input(obj, data, resource, request.user)
            validate(obj)
            if resource.check is not None:
                resource.check(obj, data, request.user)
            obj.save()
            if resource.after_save is not None:
                resource.after_save(obj, data, request.user)
        obj = resource.find(request.user, getattr(obj, resource.lookup))
        _with_etag(response, obj)
        response["Location"] = (
            f"{request.path}{quote(str(getattr(obj, resource.lookup)), safe='')}/"
        )
        return Status(201, resource.serialize(obj, request.user))

    def write(request: HttpRequest, response: HttpResponse, key_value: Any, data: dict) -> Any:
        with transaction.atomic():
            obj = resource.lock(request.user, key_value)
            check_if_match(request, obj)
            stored = values_of(obj)
            apply_input(obj, data, resource, request.user)
            validate(obj, unchanged_fields(obj, stored))
            if resource.check is not None:
                resource.check(obj, data, request.user)
            obj.save()
            if resource.after_save is not None:
                resource.after_save(obj, data, request.user)
        obj = resource.find(request.user, key_value)
        data = resource.serialize(obj, request.user)
        written = json_response(data)
        _with_etag(written, obj, data)
        return written

    def replace_item(request: HttpRequest, response: HttpResponse, **kw: Any) -> Any:
        return write(request, response, kw[key_name], kw["payload"].model_dump())

    def update_item(request: HttpRequest, response: HttpResponse, **kw: Any) -> Any:
        return write(request, response, kw[key_name], kw["payload"].model_dump(exclude_unset=True))

    def delete_item(request: HttpRequest, **kw: Any) -> Status:
        with transaction.atomic():
            obj = resource.lock(request.user, kw[key_name])
            check_if_match(request, obj)
            obj.delete()
        return Status(204, None)

    list_path = f"/{resource.path}/"
    detail_path = f"/{resource.path}/{{{key_name}}}/"
    create = resource.in_schema("create")
    router.add_api_operation(
        list_path,
        ["POST"],
        _with_response(_signature(create_item, payload=(Body[create], EMPTY))),  # type: ignore[valid-type]
        response={201: out, **error_responses(*WRITE_ERRORS)},
        url_name=f"{resource.name}-list",
        operation_id=f"create_{stem}",
        summary=f"Create {label}",
        tags=[resource.tag],
    )
    replace = resource.in_schema("replace")
    router.add_api_operation(
        detail_path,
        ["PUT"],
        _with_response(
            _signature(
                replace_item,
                **{key_name: key},
                payload=(Body[replace], EMPTY),  # type: ignore[valid-type]
                if_match=if_match,
            )
        ),
        response={200: out, **error_responses(*WRITE_ERRORS)},
        url_name=f"{resource.name}-detail",
        operation_id=f"replace_{stem}",
        summary=f"Replace {label}",
        description="Fields left out get their defaults. " + IF_MATCH_DOC,
        tags=[resource.tag],
    )
    patch = resource.in_schema("patch")
    router.add_api_operation(
        detail_path,
        ["PATCH"],
        _with_response(
            _signature(
                update_item,
                **{key_name: key},
                payload=(Body[patch], EMPTY),  # type: ignore[valid-type]
                if_match=if_match,
            )
        ),
        response={200: out, **error_responses(*WRITE_ERRORS)},
        url_name=f"{resource.name}-detail",
        operation_id=f"update_{stem}",
        summary=f"Update {label} (the fields sent)",
        description="Only the fields sent are changed. " + IF_MATCH_DOC,
        tags=[resource.tag],
    )
    router.add_api_operation(
        detail_path,
        ["DELETE"],
        _signature(delete_item, **{key_name: key}, if_match=if_match),
        response={204: None, **error_responses(*WRITE_ERRORS)},
        url_name=f"{resource.name}-detail",
        operation_id=f"delete_{stem}",
        summary=f"Delete {label}",
        description=IF_MATCH_DOC,
        tags=[resource.tag],
    )


def add_routes(router: Router, resource: Resource) -> None:
    REFERENCES[resource.model] = resource.queryset
    add_read_routes(router, resource)
    if resource.writable:
        add_write_routes(router, resource)
