"""The one table of what each role may do, and the sync that makes Django's groups say the same.

Each :class:`~medshield.accounts.models.Role` is a Django group of the same name. After every
``migrate`` the groups' permissions are set to exactly this table (extra permissions given by
hand are removed: the table is the truth, and the role-matrix test checks it against every URL).
A codename whose model does not exist yet (an app still being written) is skipped, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from medshield.accounts.models import Profile, Role

log = logging.getLogger(__name__)

ROLE_NAMES = [r.value for r in Role]


class RoleError(ValueError):
    """A role assignment that cannot be made (the message says why)."""


#: every permission of every installed app
ALL = "*"
#: every "view_*" permission of every installed app
ALL_VIEW = "view:*"

_ASSETS = ("site", "building", "floor", "room", "rack", "asset")
_NETWORK = (
    "zone",
    "vlan",
    "subnet",
    "interface",
    "ipaddress",
    "cable",
    "externalconnection",
    "connectionhop",
    "flow",
)
_VULNS = (
    "vulnerability",
    "advisory",
    "advisoryvulnerability",
    "advisoryproduct",
    "productstatus",
    "nvdconfigurations",
    "cpekey",
    "feedimport",
)
_SBOMS = ("sbom", "component", "vexdocument", "vexstatement")
_DISCOVERY = ("observationsource", "observedhost", "observedflow", "dismissal")


def _perms(app: str, actions: Iterable[str], models: Iterable[str]) -> frozenset[str]:
    return frozenset(f"{app}.{action}_{model}" for model in models for action in actions)


VIEW_REGISTER = _perms("assets", ["view"], _ASSETS) | _perms("network", ["view"], _NETWORK)
CHANGE_ASSETS = _perms("assets", ["add", "change", "delete"], _ASSETS)
CHANGE_NETWORK = _perms("network", ["add", "change", "delete"], _NETWORK)
VIEW_DIAGRAMS = frozenset({"diagrams.view_diagramexport"})
VIEW_FEEDS = _perms("vulns", ["view"], _VULNS)
VIEW_SBOMS = _perms("sboms", ["view"], _SBOMS)
CHANGE_SBOMS = _perms("sboms", ["add", "change", "delete"], _SBOMS)
VIEW_DISCOVERY = _perms("discovery", ["view"], _DISCOVERY)
CHANGE_DISCOVERY = _perms("discovery", ["add", "change"], ["dismissal"])
VIEW_FINDINGS = _perms("findings", ["view"], ["finding", "vendoralias", "matchstate"])
#: the vulnerability workflow: triage findings, and teach the matcher a vendor's other names
CHANGE_FINDINGS = frozenset({"findings.change_finding"}) | _perms(
    "findings", ["add", "change", "delete"], ["vendoralias"]
)
IMPORT = frozenset({"accounts.import_data"})
EXPORT = frozenset({"accounts.export_data"})
HISTORY = frozenset({"accounts.view_history", "core.view_objectchange"})
AUDIT = frozenset({"accounts.view_audit", "audit.view_auditevent"})
VIEW_ALL = VIEW_REGISTER | VIEW_DIAGRAMS | VIEW_FEEDS | VIEW_SBOMS | VIEW_DISCOVERY | VIEW_FINDINGS

#: role -> the permissions its group holds ("app_label.codename", or ALL / ALL_VIEW)
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset({ALL}),
    Role.SECURITY_OFFICER: VIEW_ALL
    | CHANGE_FINDINGS
    | CHANGE_SBOMS
    | IMPORT
    | EXPORT
    | HISTORY
    | AUDIT,
    Role.CLINICAL_ENGINEER: VIEW_ALL | CHANGE_ASSETS | CHANGE_SBOMS | IMPORT | HISTORY,
    Role.IT_STAFF: VIEW_ALL | CHANGE_ASSETS | CHANGE_NETWORK | CHANGE_DISCOVERY | IMPORT | EXPORT,
    Role.VIEWER: VIEW_REGISTER | VIEW_DIAGRAMS | VIEW_FEEDS | VIEW_SBOMS | VIEW_FINDINGS,
    Role.AUDITOR: frozenset({ALL_VIEW}) | HISTORY | AUDIT,
    # Only its own assets (medshield.accounts.scoping), their findings and SBOMs: no places,
    # network, diagrams, feeds or discovery, which describe the whole hospital.
    Role.MANUFACTURER: frozenset({"assets.view_asset", "findings.view_finding"}) | VIEW_SBOMS,
}


def role_holds(role: Role | str, permission: str) -> bool:
    """Whether the table gives ``permission`` to ``role`` (without asking the database)."""
    declared = ROLE_PERMISSIONS[Role(role)]
    if ALL in declared or permission in declared:
        return True
    codename = permission.partition(".")[2]
    return ALL_VIEW in declared and codename.startswith("view_")


def permissions_of(role: Role | str) -> list[Permission]:
    """The Permission rows the table gives ``role``; codenames without a row are skipped."""
    declared = ROLE_PERMISSIONS[Role(role)]
    if ALL in declared:
        return list(Permission.objects.all())
    query = Q(pk__in=[])
    if ALL_VIEW in declared:
        query |= Q(codename__startswith="view_")
    wanted = {p for p in declared if p not in (ALL, ALL_VIEW)}
    for permission in wanted:
        app_label, _, codename = permission.partition(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    present = {f"{p.content_type.app_label}.{p.codename}" for p in found}
    missing = sorted(wanted - present)
    if missing:
        # e.g. findings.view_finding while the findings app has no model yet
        log.info("role %s: no permission rows yet for %s", role, ", ".join(missing))
    return found


def sync_roles() -> dict[str, int]:
    """Create the role groups and set their permissions to the table; returns counts per role."""
    counts: dict[str, int] = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = permissions_of(role)
        group.permissions.set(permissions)
        counts[role.value] = len(permissions)
    return counts


def roles_of(user: object) -> list[str]:
    """The role names a user holds (its groups that are roles), sorted."""
    names = {r.value for r in Role}
    groups = getattr(user, "groups", None)
    if groups is None:
        return []
    return sorted(n for n in groups.values_list("name", flat=True) if n in names)


def apply_roles(user: Any, roles: list[str], manufacturer: str | None) -> None:
    """Give ``user`` exactly ``roles`` and, when given, its manufacturer (shared with
    ``medshield user role``). A manufacturer's login must name its manufacturer."""
    unknown = sorted(set(roles) - set(ROLE_NAMES))
    if unknown:
        raise RoleError(f"unknown role {', '.join(unknown)}; choose from {', '.join(ROLE_NAMES)}")
    profile = Profile.objects.filter(user=user).first()
    is_maker = Role.MANUFACTURER.value in roles
    if manufacturer is None:  # keep the one on file only while the login stays a manufacturer
        manufacturer = profile.manufacturer if profile is not None and is_maker else ""
    maker = manufacturer.strip()
    if is_maker and not maker:
        raise RoleError(
            "the manufacturer role needs --manufacturer NAME (as the register spells it)"
        )
    if maker and not is_maker:
        raise RoleError("--manufacturer is only for a login with the manufacturer role")
    if maker and set(roles) != {Role.MANUFACTURER.value}:
        raise RoleError("a manufacturer's login cannot hold other roles")
    groups = []
    for name in roles:
        group = Group.objects.filter(name=name).first()
        if group is None:
            raise RoleError(f"the role group {name!r} is missing; run `medshield migrate` first")
        groups.append(group)
    role_groups = Group.objects.filter(name__in=ROLE_NAMES)
    user.groups.remove(*role_groups)
    user.groups.add(*groups)
    if profile is None:
        profile = Profile(user=user)
    profile.manufacturer = maker
    profile.save()
