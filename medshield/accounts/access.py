"""What a login may do and see, read in one query per request.

Every request asks three things about its user: its permissions (the role's, through its
groups), its roles and, for a manufacturer's login, which manufacturer it is confined to.
Django's ModelBackend and plain ORM lookups ask them in four queries, each compiled afresh; at
hundreds of API requests per second that is a large part of a request's cost. :func:`access_of`
asks all of it in one plain SQL statement and keeps the answer on the user object, which a
request loads afresh: a change of role or profile counts from the next request on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

#: the attribute of a user object that keeps its :class:`Access`
_CACHE = "_medshield_access"


@dataclass(frozen=True, slots=True)
class Access:
    #: "app_label.codename" of every permission the login holds through its groups or itself
    permissions: frozenset[str]
    #: the names of its groups (its roles)
    groups: frozenset[str]
    #: the manufacturer named on its profile ("" when none, or no profile)
    manufacturer: str


def _statement() -> str:
    user_groups = Group.user_set.through._meta.db_table  # auth_user_groups
    user_perms = Permission.user_set.through._meta.db_table  # auth_user_user_permissions
    group_perms = Group.permissions.through._meta.db_table  # auth_group_permissions
    from medshield.accounts.models import Profile

    # Only table names Django gives are formatted in; the user id is a bound parameter.
    sql = (
        f"SELECT 'p', ct.app_label, p.codename FROM {Permission._meta.db_table} p "  # noqa: S608
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = %s "
        f"UNION SELECT gp.permission_id FROM {group_perms} gp "
        f"JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s) "
        f"UNION ALL SELECT 'g', g.name, '' FROM {Group._meta.db_table} g "
        f"JOIN {user_groups} ug ON ug.group_id = g.id WHERE ug.user_id = %s "
        f"UNION ALL SELECT 'm', manufacturer, '' FROM {Profile._meta.db_table} WHERE user_id = %s"
    )
    return sql


def access_of(user: Any) -> Access:
    """The permissions, roles and manufacturer of an authenticated ``user`` (cached on it)."""
    cached = getattr(user, _CACHE, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    permissions: set[str] = set()
    groups: set[str] = set()
    manufacturer = ""
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [user.pk] * 4)
        for kind, first, second in cursor.fetchall():
            if kind == "p":
                permissions.add(f"{first}.{second}")
            elif kind == "g":
                groups.add(first)
            else:
                manufacturer = first or ""
    found = Access(frozenset(permissions), frozenset(groups), manufacturer)
    try:
        setattr(user, _CACHE, found)
    except AttributeError:  # an object that takes no attributes: asked again next time
        pass
    return found


def forget(user: Any) -> None:
    """Drop what :func:`access_of` keeps on ``user`` (after changing its roles in-process)."""
    for name in (_CACHE, "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        if hasattr(user, name):
            delattr(user, name)
