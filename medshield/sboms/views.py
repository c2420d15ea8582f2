"""The SBOM pages: the list of SBOMs, and one SBOM's components, assets and VEX statements."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from medshield.accounts.scoping import is_confined, visible_assets, visible_sboms
from medshield.assets.models import Asset
from medshield.sboms.models import Sbom, VexStatement

PAGE_SIZE = 50
#: the list shows at most this many asset tags per SBOM, then "and N more"
ASSETS_SHOWN = 5


def _sharing(sboms: list[Sbom]) -> dict[int, tuple[list[Asset], int]]:
    """(first assets, how many) for each SBOM, with one query per product-attached SBOM.

    Asset-attached SBOMs are served by one query for all of them; a product attachment is a
    filter on three columns that cannot be joined, so each costs one query (there are few).
    """
    listed = [s.pk for s in sboms if not s.attached_to_product]
    links: dict[int, list[Asset]] = {pk: [] for pk in listed}
    through = Sbom.assets.through.objects.filter(sbom_id__in=listed).select_related("asset")
    for link in through.order_by("asset__asset_tag"):
        links[link.sbom_id].append(link.asset)
    out: dict[int, tuple[list[Asset], int]] = {}
    for sbom in sboms:
        if sbom.attached_to_product:
            assets = sbom.applicable_assets().order_by("asset_tag")
            out[sbom.pk] = (list(assets[:ASSETS_SHOWN]), assets.count())
        else:
            found = links.get(sbom.pk, [])
            out[sbom.pk] = (found[:ASSETS_SHOWN], len(found))
    return out


@login_required
def sbom_list(request: HttpRequest) -> HttpResponse:
    """Every SBOM: format, product, component count, the assets sharing it, when imported."""
    q = request.GET.get("q", "").strip()
    sboms = visible_sboms(request.user)
    if q:
        sboms = sboms.filter(
            Q(name__icontains=q)
            | Q(product_name__icontains=q)
            | Q(supplier__icontains=q)
            | Q(manufacturer__icontains=q)
            | Q(model__icontains=q)
            | Q(document_id__icontains=q)
        )
    page = Paginator(sboms, PAGE_SIZE).get_page(request.GET.get("page"))
    sharing = _sharing(list(page))
    if is_confined(request.user):
        # a manufacturer sees which of its own assets share an SBOM, never anyone else's
        for sbom in page:
            mine = visible_assets(request.user, sbom.applicable_assets()).order_by("asset_tag")
            sharing[sbom.pk] = (list(mine[:ASSETS_SHOWN]), mine.count())
    rows = [(s, *sharing[s.pk]) for s in page]
    context: dict[str, Any] = {"nav": "sboms", "page": page, "rows": rows, "q": q}
    return render(request, "sboms/sbom_list.html", context)


@login_required
def sbom_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One SBOM: what it describes, the assets sharing it, its components (searchable, paged)
    and the VEX statements that came with it."""
    sbom = get_object_or_404(visible_sboms(request.user), pk=pk)
    q = request.GET.get("q", "").strip()
    components = sbom.components.all()
    if q:
        components = components.filter(
            Q(name__icontains=q)
            | Q(group__icontains=q)
            | Q(version__icontains=q)
            | Q(purl__icontains=q)
            | Q(cpe__icontains=q)
            | Q(supplier__icontains=q)
            | Q(licenses__icontains=q)
        )
    paginator = Paginator(components, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    statements = (
        VexStatement.objects.filter(document__sbom=sbom)
        .select_related("document")
        .order_by("vulnerability_id", "product_ref")
    )
    context: dict[str, Any] = {
        "nav": "sboms",
        "sbom": sbom,
        "assets": visible_assets(request.user, sbom.applicable_assets()).order_by("asset_tag"),
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "q": q,
        "statements": statements,
    }
    return render(request, "sboms/sbom_detail.html", context)
