"""API tokens: a login's keys for scripts, each with a scope and an end date.

A token reads ``ms_<prefix>_<secret>``. Only the prefix (to find the row) and the SHA-256 of the
secret are stored, so a copy of the database does not hand out working keys; the whole token is
shown once, when it is made. The secret is 32 random bytes, so a fast hash is enough: there is
nothing to guess, unlike a password.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: what every token string starts with, so a leaked one is recognisable (secret scanners)
TOKEN_PREFIX = "ms_"  # noqa: S105 - the visible marker, not a secret
PREFIX_LENGTH = 12
DEFAULT_DAYS = 90
MAX_DAYS = 365


class TokenScope(models.TextChoices):
    """What a token may do; it never exceeds what its login may do."""

    READ = "read", _("Read (GET only)")
    WRITE = "write", _("Read and write")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _columns(model: type[models.Model], alias: str) -> list[tuple[str, Any]]:
    """(``alias.column`` SQL, the backend's converters and their column) per concrete field."""
    qn = connection.ops.quote_name
    out = []
    for f in model._meta.concrete_fields:
        col = f.get_col(alias)
        converters = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        out.append((f"{alias}.{qn(f.column)}", (converters, col)))
    return out


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token of ``prefix`` with its login, in one query and without the ORM's compiler.

    Every API request starts here, and building this join through a queryset each time cost
    more than running it; the SQL is written once per process from the models' own columns,
    and each value passes through the backend's converters as the ORM would pass it.
    """
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    plan = _TOKEN_PLAN.get(connection.vendor)
    if plan is None:
        token_cols, user_cols = _columns(ApiToken, "t"), _columns(user_model, "u")
        qn = connection.ops.quote_name
        # The models' own table and column names, quoted; the prefix is the one parameter.
        sql = (
            f"SELECT {', '.join(c for c, _ in token_cols + user_cols)} "  # noqa: S608
            f"FROM {qn(ApiToken._meta.db_table)} t "
            f"JOIN {qn(user_model._meta.db_table)} u ON u.{qn(user_model._meta.pk.column)} = t."
            f"{qn(ApiToken._meta.get_field('user').column)} WHERE t.{qn('prefix')} = %s"
        )
        plan = _TOKEN_PLAN[connection.vendor] = (
            sql,
            [conv for _, conv in token_cols + user_cols],
            len(token_cols),
        )
    sql, converters, split = plan
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (functions, col) in zip(row, converters, strict=True):
        for function in functions:
            value = function(value, col, connection)
        values.append(value)
    token = ApiToken.from_db(connection.alias, None, values[:split])
    token.user = user_model.from_db(connection.alias, None, values[split:])
    return token


#: per database vendor: (SQL, converters per column, number of the token's columns)
_TOKEN_PLAN: dict[str, tuple[str, list[tuple[list[Any], Any]], int]] = {}


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        """Tokens that authenticate now: not revoked, not expired, of an active login."""
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True
        )


class ApiToken(models.Model):
    """One API token of one login."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the token is for, e.g. the script's name")
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(
        _("scope"), max_length=10, choices=TokenScope.choices, default=TokenScope.READ
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.prefix}…)"

    @classmethod
    def issue(
        cls, user: object, *, name: str, scope: str, days: int = DEFAULT_DAYS
    ) -> tuple[ApiToken, str]:
        """Make a token and return it with its full text (the only time the secret exists)."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")
        if scope not in TokenScope.values:
            raise ValueError(f"scope must be one of {', '.join(TokenScope.values)}")
        secret = secrets.token_urlsafe(32)
        token = cls(
            user=user,
            name=name,
            scope=scope,
            prefix=secrets.token_hex(PREFIX_LENGTH // 2),
            secret_hash=hash_secret(secret),
        )
        token.expires_at = token.created + datetime.timedelta(days=days)
        token.full_clean()
        token.save(force_insert=True)
        return token, f"{TOKEN_PREFIX}{token.prefix}_{secret}"

    @classmethod
    def find(cls, text: str) -> ApiToken | None:
        """The stored token that ``text`` is (whatever its state), or None."""
        if not text.startswith(TOKEN_PREFIX):
            return None
        prefix, sep, secret = text[len(TOKEN_PREFIX) :].partition("_")
        if len(prefix) != PREFIX_LENGTH or not sep or not secret:
            return None
        token = _token_with_user(prefix)
        if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(secret)):
            return None
        return token

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.is_revoked:
            return str(_("revoked"))
        if self.is_expired:
            return str(_("expired"))
        return str(_("active"))

    @property
    def allows_writes(self) -> bool:
        return self.scope == TokenScope.WRITE

    def revoke(self) -> bool:
        """Revoke the token; False when it was revoked already."""
        changed = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.refresh_from_db(fields=["revoked_at"])
        return bool(changed)
