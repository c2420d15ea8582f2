"""The priority of a finding: one number from 0 to 100, and the points that make it up.

The formula (kept here and nowhere else; the detail page shows each term):

=====================  ============================================================
CVSS base score        4 points per point of score: v4.0 when given, else v3.x
                       (0-40); unknown score counts as 5.0 (20), and says so
KEV                    +20 when CISA lists it as exploited in the wild
EPSS                   probability x 15 (0-15)
clinical criticality   life-sustaining +15, treatment +10, diagnostic +6, support +3
exposure               +10 when the asset is on, or reachable from, an external
                       connection (internet uplink, VPN, remote-maintenance line)
certainty              -10 when the match is uncertain
=====================  ============================================================

The sum is clamped to 0-100. The weights follow the MHLW guide's order of concern: what is
being exploited and reachable from outside on a life-sustaining device comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_noop

#: CVSS points per point of base score
CVSS_WEIGHT = 4
#: the score assumed when no feed gave one
UNKNOWN_SCORE = Decimal("5.0")
KEV_POINTS = 20
EPSS_WEIGHT = 15
CRITICALITY_POINTS = {"life_sustaining": 15, "treatment": 10, "diagnostic": 6, "support": 3}
EXPOSURE_POINTS = 10
UNCERTAIN_POINTS = -10


@dataclass(frozen=True)
class PriorityInput:
    """What the priority depends on (copied onto the finding so a change can be detected)."""

    cvss3: Decimal | None
    cvss4: Decimal | None
    kev: bool
    epss: float | None
    criticality: str
    exposed_by: tuple[str, ...]
    uncertain: bool


def priority(data: PriorityInput) -> tuple[int, list[list[object]]]:
    """(priority, explanation): the explanation is a list of [message id, points, argument].

    The messages are English msgids marked for translation with gettext_noop; the page
    translates them when it shows them, so the stored explanation follows the reader's language.
    """
    terms: list[list[object]] = []
    if data.cvss4 is not None:
        terms.append(
            [gettext_noop("CVSS v4 base score {arg}"), _points(data.cvss4), str(data.cvss4)]
        )
    elif data.cvss3 is not None:
        terms.append(
            [gettext_noop("CVSS v3 base score {arg}"), _points(data.cvss3), str(data.cvss3)]
        )
    else:
        terms.append(
            [
                gettext_noop("no CVSS score: {arg} assumed"),
                _points(UNKNOWN_SCORE),
                str(UNKNOWN_SCORE),
            ]
        )
    if data.kev:
        terms.append([gettext_noop("known exploited (CISA KEV)"), KEV_POINTS, ""])
    if data.epss is not None:
        terms.append(
            [gettext_noop("EPSS {arg}"), round(data.epss * EPSS_WEIGHT), f"{data.epss:.3f}"]
        )
    crit = CRITICALITY_POINTS.get(data.criticality)
    if crit:
        terms.append([gettext_noop("clinical criticality: {arg}"), crit, data.criticality])
    if data.exposed_by:
        terms.append(
            [
                gettext_noop("reachable from outside: {arg}"),
                EXPOSURE_POINTS,
                ", ".join(data.exposed_by),
            ]
        )
    if data.uncertain:
        terms.append([gettext_noop("uncertain match"), UNCERTAIN_POINTS, ""])
    total = sum(int(points) for _, points, _ in terms)  # type: ignore[call-overload]
    return max(0, min(100, total)), terms


def _points(score: Decimal) -> int:
    return int((score * CVSS_WEIGHT).to_integral_value())


def describe(terms: list[list[object]]) -> list[tuple[str, int]]:
    """The stored explanation in the reader's language: [(text, points)]."""
    from django.utils.translation import gettext

    from medshield.assets.choices import Criticality

    out: list[tuple[str, int]] = []
    for term in terms or ():
        if not isinstance(term, list) or len(term) != 3:
            continue
        message, points, arg = term
        if message == "clinical criticality: {arg}" and arg in Criticality.values:
            arg = Criticality(arg).label
        out.append((gettext(str(message)).format(arg=arg), int(points)))  # type: ignore[call-overload]
    return out


def exposure_of(asset_id: int) -> list[str]:
    """The external connections an asset is on the path of, or reachable from (sorted names)."""
    from medshield.network.models import ConnectionHop, ExternalConnection

    names = set(
        ConnectionHop.objects.filter(asset_id=asset_id).values_list("connection__name", flat=True)
    )
    names.update(
        ExternalConnection.reaches.through.objects.filter(asset_id=asset_id).values_list(
            "externalconnection__name", flat=True
        )
    )
    return sorted(names)


def base_points(data: PriorityInput) -> tuple[int, list[list[object]]]:
    """(points, terms) of what does not depend on the asset: unclamped, for the shared verdict.

    The per-asset priority is ``clamp(base + criticality + exposure)``; the SQL of the findings
    view (migration 0002) adds :data:`CRITICALITY_POINTS` and :data:`EXPOSURE_POINTS` and
    clamps, so the sum equals :func:`priority` for the same inputs.
    """
    _, terms = priority(
        PriorityInput(data.cvss3, data.cvss4, data.kev, data.epss, "", (), data.uncertain)
    )
    return sum(int(points) for _, points, _ in terms), terms  # type: ignore[call-overload]
