"""The diagrams as the web pages and the CLI ask for them: register → snapshot → DOT → file."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from medshield.assets.choices import AssetKind
from medshield.core.actor import current_actor
from medshield.diagrams import diff as diffing
from medshield.diagrams import dot
from medshield.diagrams.loader import load_at, load_current
from medshield.diagrams.models import DiagramExport, DiagramKind
from medshield.diagrams.snapshot import Filters, Snapshot
from medshield.network.choices import ConnectionMethod


def parse_when(value: str) -> datetime.datetime:
    """A date (meaning the end of that day, local time) or a date and time."""
    value = value.strip()
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(
                _("%(value)s is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM).")
                % {"value": value}
            )
        moment = datetime.datetime.combine(day, datetime.time.max)
    if not 1970 <= moment.year <= 9998:
        # Before any register existed, or past what time zone arithmetic can represent.
        raise ValueError(_("%(value)s is out of range.") % {"value": value})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def labels() -> dict[str, str]:
    """Translated words for the engine (kinds, connection methods, fixed phrases)."""
    words = {k.value: str(k.label) for k in AssetKind}
    words.update({m.value: str(m.label) for m in ConnectionMethod})
    words.update(
        endpoints=_("endpoints"),
        internet=_("Internet"),
        no_address=_("No address"),
        no_place=_("No place"),
        no_host=_("Virtual servers without a registered host"),
    )
    return words


@dataclass
class Request:
    """What to draw."""

    kind: str
    at: datetime.datetime | None = None
    filters: Filters = field(default_factory=Filters)
    redact: bool = False
    collapse: bool | None = None
    expand: frozenset[int] = frozenset()
    asset_url: str = "/assets/{tag}/"
    expand_url: str = "?expand={subnet}"

    def __post_init__(self) -> None:
        if self.kind not in dot.KINDS:
            raise ValueError(
                _("Unknown diagram %(kind)s; choose from %(kinds)s.")
                % {"kind": self.kind, "kinds": ", ".join(dot.KINDS)}
            )


def snapshot(at: datetime.datetime | None) -> Snapshot:
    return load_at(at) if at is not None else load_current()


def title(kind: str, at: datetime.datetime | None, extra: str = "") -> str:
    name = str(DiagramKind(kind).label)
    moment = at or timezone.now()
    text = f"{name} — {date_format(timezone.localtime(moment), 'Y-m-d H:i')}"
    return f"{text} {extra}".strip()


def build(req: Request) -> str:
    """The DOT text of a diagram."""
    snap = req.filters.apply(snapshot(req.at))
    opts = dot.Options(
        redact=req.redact,
        collapse=req.collapse,
        expand=req.expand,
        asset_url=req.asset_url,
        expand_url=req.expand_url,
        title=title(req.kind, req.at),
        labels=labels(),
    )
    return dot.KINDS[req.kind](snap, opts)


def build_diff(
    req: Request, since: datetime.datetime, until: datetime.datetime | None = None
) -> tuple[str, list[diffing.Change]]:
    """The diagram at ``until`` with what changed since ``since`` coloured, and the changes."""
    old = req.filters.apply(load_at(since))
    new = req.filters.apply(snapshot(until))
    changes = diffing.diff(old, new, kind=req.kind, redact=req.redact)
    opts = dot.Options(
        redact=req.redact,
        collapse=req.collapse,
        expand=req.expand,
        asset_url=req.asset_url,
        expand_url=req.expand_url,
        labels=labels(),
        marks=diffing.marks(changes, old, new),
        title=title(
            req.kind,
            until,
            _("(changes since %(since)s)")
            % {"since": date_format(timezone.localtime(since), "Y-m-d H:i")},
        ),
    )
    return dot.KINDS[req.kind](diffing.merged(old, new), opts), changes


def record_export(kind: str, fmt: str, *, redacted: bool) -> DiagramExport:
    return DiagramExport.objects.create(
        kind=kind, format=fmt, redacted=redacted, user_name=current_actor().name
    )


def last_export(kind: str) -> DiagramExport | None:
    return DiagramExport.objects.filter(kind=kind).order_by("-time").first()


def resolve_filters(
    *,
    site: str = "",
    building: str = "",
    floor: str = "",
    zone: str = "",
    subnet: str = "",
    department: str = "",
) -> Filters:
    """Filters named as people write them (site code, building code, floor name, zone name,
    subnet prefix) turned into ids; an unknown name is an error naming it."""
    from medshield.assets.models import Building, Floor, Site
    from medshield.diagrams.loader import place_key
    from medshield.network.models import Subnet, Zone

    def one(qs, what: str, value: str) -> int:  # type: ignore[no-untyped-def]
        ids = list(qs.values_list("pk", flat=True)[:2])
        if not ids:
            raise ValueError(_("No %(what)s named %(value)s.") % {"what": what, "value": value})
        if len(ids) > 1:
            raise ValueError(
                _("%(value)s names more than one %(what)s; name the site or building too.")
                % {"what": what, "value": value}
            )
        return ids[0]

    site_id = one(Site.objects.filter(code=site), _("site"), site) if site else None
    building_id = floor_id = None
    if building:
        qs = Building.objects.filter(code=building)
        if site_id:
            qs = qs.filter(site_id=site_id)
        building_id = one(qs, _("building"), building)
    if floor:
        qs = Floor.objects.filter(name=floor)
        if building_id:
            qs = qs.filter(building_id=building_id)
        floor_id = one(qs, _("floor"), floor)
    return Filters(
        site=place_key("site", site_id),
        building=place_key("building", building_id),
        floor=place_key("floor", floor_id),
        zone=one(Zone.objects.filter(name=zone), _("zone"), zone) if zone else None,
        subnet=one(Subnet.objects.filter(prefix=subnet), _("subnet"), subnet) if subnet else None,
        department=department,
    )
