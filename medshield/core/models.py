"""The history every register object keeps: who changed what, when, from which value to which.

Every model of the register derives from :class:`ChangeLoggedModel`. A save compares the row with
the values it was loaded with and writes one :class:`ObjectChange` naming each changed field with
its old and new value; creation and deletion are recorded the same way. Bulk paths (the register
importer) build the same rows through :func:`change_record` and write them with ``bulk_create``.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medshield.core.actor import current_actor
from medshield.core.textsafety import unsafe_reason


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")


class ObjectChange(models.Model):
    """One change to one register object, kept forever (append-only)."""

    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user_name = models.CharField(_("user name"), max_length=150)
    action = models.CharField(_("action"), max_length=10, choices=ChangeAction.choices)
    object_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(_("object"), max_length=300)
    related_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    related_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict)
    #: the object's raw field values after the change (foreign keys as ids; None once deleted),
    #: from which the register can be rebuilt as it stood at any past time
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["related_type", "related_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"

    def field_changes(self) -> list[tuple[str, Any, Any]]:
        """(field label, old, new) triples, in field order, for display."""
        model = self.object_type.model_class()
        rows = []
        for name, (old, new) in self.changes.items():
            label = name
            if model is not None:
                try:
                    label = str(model._meta.get_field(name).verbose_name)
                except Exception:  # noqa: BLE001 - a field removed since the change was recorded
                    label = name
            rows.append((label, old, new))
        return rows


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


class ChangeLoggedModel(models.Model):
    """Base of every register model: timestamps and a recorded history of each change."""

    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_updated = models.DateTimeField(_("last updated"), auto_now=True)

    #: fields never recorded in the history (bookkeeping, derived values)
    changelog_exclude: ClassVar[frozenset[str]] = frozenset({"id", "created", "last_updated"})

    class Meta:
        abstract = True

    def clean_fields(self, exclude: Any = None) -> None:
        """Django's field checks, then no control characters or bidi overrides in any text.

        Invisible characters in a register make look-alike names and garbled exports; line
        breaks are allowed in multi-line text (TextField) only.
        """
        errors: dict[str, list[str]] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.message_dict
        skip = set(exclude or ()) | set(errors)
        for field in self._meta.concrete_fields:
            if field.name in skip or not field.editable:
                continue  # derived keys (place_sort) use separators of their own
            if not isinstance(field, models.CharField | models.TextField):
                continue
            value = getattr(self, field.attname)
            if isinstance(value, str):
                reason = unsafe_reason(value, multiline=isinstance(field, models.TextField))
                if reason:
                    errors[field.name] = [reason]
        if errors:
            raise ValidationError(errors)

    # --- snapshotting -------------------------------------------------------------------------
    @classmethod
    def logged_fields(cls) -> list[models.Field[Any, Any]]:
        fields = cls.__dict__.get("_logged_fields")
        if fields is None:
            fields = [
                f
                for f in cls._meta.concrete_fields
                if f.name not in cls.changelog_exclude and not f.primary_key
            ]
            cls._logged_fields = fields  # per class: computed once
        return fields

    def snapshot(self) -> dict[str, Any]:
        """Field name to raw value (foreign keys as ids) for every logged field."""
        return {f.name: _plain(getattr(self, f.attname)) for f in self.logged_fields()}

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        # Keep the row as loaded; the snapshot is built only if a save needs it, so listing
        # thousands of rows costs nothing extra.
        instance._db_state = (field_names, values)
        return instance

    @property
    def _loaded(self) -> dict[str, Any] | None:
        """The logged fields' values as loaded from the database (None: not loaded)."""
        cached = self.__dict__.get("_loaded_cache")
        if cached is None:
            state = self.__dict__.get("_db_state")
            if state is None:
                return None
            row = dict(zip(*state, strict=True))
            # Only the loaded fields: a deferred one is absent here, and touching it would load
            # it (and recurse through from_db).
            cached = {
                f.name: _plain(row[f.attname]) for f in self.logged_fields() if f.attname in row
            }
            self.__dict__["_loaded_cache"] = cached
        return cached

    @_loaded.setter
    def _loaded(self, value: dict[str, Any]) -> None:
        self.__dict__["_loaded_cache"] = value

    def _stored_snapshot(self) -> dict[str, Any]:
        """The row's values as stored now (for saves of partly loaded objects)."""
        fields = self.logged_fields()
        row = type(self)._base_manager.filter(pk=self.pk).values_list(*[f.attname for f in fields])
        values = row.first()
        if values is None:
            return {}
        return {f.name: _plain(v) for f, v in zip(fields, values, strict=True)}

    def display_value(self, name: str, raw: Any) -> Any:
        """How a raw value reads in the history: foreign keys by their name, choices by label."""
        field = self._meta.get_field(name)
        if raw is None or raw == "":
            return raw
        if field.is_relation and field.related_model is not None:
            target = field.related_model._base_manager.filter(pk=raw).first()
            return str(target) if target is not None else f"#{raw}"
        return raw

    def diff(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
        return {
            name: [self.display_value(name, before.get(name)), self.display_value(name, value)]
            for name, value in after.items()
            if before.get(name) != value
        }

    def changelog_parent(self) -> models.Model | None:
        """The object whose history should also show this change (an interface's asset...)."""
        return None

    # --- persistence --------------------------------------------------------------------------
    def save(self, *args: Any, **kwargs: Any) -> None:  # noqa: DJ012 - grouped with its helpers
        # The row and its history row are written together or not at all.
        with transaction.atomic():
            self._save_with_history(*args, **kwargs)

    def _save_with_history(self, *args: Any, **kwargs: Any) -> None:
        creating = self._state.adding
        before: dict[str, Any] = {}
        if not creating:
            before = getattr(self, "_loaded", None) or {}
            if len(before) < len(self.logged_fields()):
                # Built by hand or loaded with deferred fields: compare with the stored row.
                before = self._stored_snapshot()
        super().save(*args, **kwargs)
        after = self.snapshot()
        written = kwargs.get("update_fields")
        if written is not None and not creating:
            # Only what was written changed in the database; the rest stays "as loaded", so a
            # later full save still records it.
            names = {self._meta.get_field(name).name for name in written}
            after = {k: (v if k in names else before.get(k)) for k, v in after.items()}
        changes = self.diff(before, after)
        if creating or changes:
            change_record(
                self, ChangeAction.CREATE if creating else ChangeAction.UPDATE, changes
            ).save()
        self._loaded = after

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        """Reload, and forget the old "as loaded" values: the next save compares with these."""
        super().refresh_from_db(*args, **kwargs)
        self.__dict__.pop("_db_state", None)
        self.__dict__["_loaded_cache"] = self._stored_snapshot()

    # Deletions are recorded by the pre/post_delete receivers in medshield.core.signals, which
    # Django also sends for objects removed by a cascade (a switch's ports and cables).


def change_record(
    obj: ChangeLoggedModel, action: str, changes: dict[str, list[Any]]
) -> ObjectChange:
    """An unsaved ObjectChange for ``obj`` by the current actor (so bulk paths can batch them)."""
    actor = current_actor()
    parent = obj.changelog_parent()
    data = None if action == ChangeAction.DELETE else obj.snapshot()
    return ObjectChange(
        user_id=actor.user_id,
        user_name=actor.name,
        action=action,
        object_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        object_repr=str(obj)[:300],
        related_type=(
            ContentType.objects.get_for_model(parent, for_concrete_model=True) if parent else None
        ),
        related_id=parent.pk if parent is not None else None,
        changes=changes,
        data=data,
    )


_CHANGE_COLUMNS = (
    "time",
    "user_id",
    "user_name",
    "action",
    "object_type_id",
    "object_id",
    "object_repr",
    "related_type_id",
    "related_id",
    "changes",
    "data",
)


def insert_changes(changes: list[ObjectChange], batch: int = 2000) -> None:
    """Write many history rows at once, straight through the database cursor.

    ``bulk_create`` prepares every value of every row field by field (about 100 µs a row);
    a large import writes one history row per object it creates, which made history the
    slowest step of loading 100,000 assets. The values are the ones ``bulk_create`` would write:
    the same datetime adaptation and the same ``json.dumps`` as ``JSONField``.
    """
    if not changes:
        return
    ops = connection.ops
    quote = ops.quote_name
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = ", ".join(
        json_placeholder if column in {"changes", "data"} else "%s" for column in _CHANGE_COLUMNS
    )
    # Table and column names are this module's constants; every value goes as a parameter.
    table = quote(ObjectChange._meta.db_table)
    columns = ", ".join(quote(c) for c in _CHANGE_COLUMNS)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    rows = [
        (
            ops.adapt_datetimefield_value(c.time),
            c.user_id,
            c.user_name,
            c.action,
            c.object_type_id,
            c.object_id,
            c.object_repr,
            c.related_type_id,
            c.related_id,
            json.dumps(c.changes),
            None if c.data is None else json.dumps(c.data),
        )
        for c in changes
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            cursor.executemany(sql, rows[start : start + batch])
