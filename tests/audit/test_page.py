"""The audit log page: who may see it, search and filters, the merged timeline, paging."""

from __future__ import annotations

import datetime
import html as html_text
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medshield.assets.models import Asset
from medshield.audit import timeline
from medshield.audit.timeline import Cursor, Filters
from medshield.core.actor import acting_as, actor_for_user
from tests.audit.conftest import change_at, event_at

pytestmark = pytest.mark.django_db

URL = reverse("audit-log")
T0 = timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 0))


def _rows(response: Any) -> list[str]:
    """Each table row's text, whitespace collapsed (but the auditor's own login: signing the
    test client in is recorded too)."""
    html = response.content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S) if "colspan" not in r]
    texts = [" ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]
    return [t for t in texts if not re.match(r"^\S+ \S+ auditor Logged in", t)]


def test_it_needs_a_login_and_the_right(client: Client, viewer_client: Client) -> None:
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert viewer_client.get(URL).status_code == 403


def test_a_manufacturers_login_never_reads_it(auditor: Any, auditor_client: Client) -> None:
    from medshield.accounts.models import Profile

    Profile.objects.create(user=auditor, manufacturer="Acme Medical")
    assert auditor_client.get(URL).status_code == 403
    assert auditor_client.get(reverse("audit-export", args=["csv"])).status_code == 403


def test_the_menu_shows_the_log_only_to_those_who_may_read_it(
    auditor_client: Client, viewer_client: Client
) -> None:
    assert f'href="{URL}"' not in viewer_client.get(reverse("asset-list")).content.decode()
    page = auditor_client.get(reverse("asset-list")).content.decode()
    assert f'href="{URL}"' in page and "Audit log" in page


def test_it_merges_events_and_changes_newest_first(auditor_client: Client, engineer: Any) -> None:
    with acting_as(actor_for_user(engineer)):
        pump = Asset.objects.create(asset_tag="ME-7", name="輸液ポンプ")
        pump.name = "シリンジポンプ"
        pump.save()
    event_at(T0, "denied", username="mallory", target="/audit/")
    event_at(T0 + datetime.timedelta(hours=1), "export", username="engineer", target="register")
    rows = _rows(auditor_client.get(URL))
    assert len(rows) == 4
    # the two changes were made "now", after both events
    assert "Updated" in rows[0] and "輸液ポンプ" in rows[0] and "シリンジポンプ" in rows[0]
    assert "Created" in rows[1]
    assert rows[2].startswith("2026-04-01 10:00:00 engineer Export register")
    assert rows[3].startswith("2026-04-01 09:00:00 mallory Permission denied")
    html = auditor_client.get(URL).content.decode()
    assert f'href="{pump.get_absolute_url()}"' in html  # the change links to its asset


def test_search_and_filters(auditor_client: Client) -> None:
    event_at(T0, "login", username="sato", target="login form")
    event_at(T0 + datetime.timedelta(days=1), "login_failed", username="=cmd|' /C calc'!A0")
    event_at(T0 + datetime.timedelta(days=2), "export", username="suzuki", target="diagram network")
    change_at(T0 + datetime.timedelta(days=3), user_name="sato", object_repr="CT scanner (ME-1)")
    change_at(
        T0 + datetime.timedelta(days=4), action="delete", user_name="suzuki", object_repr="PACS"
    )

    def shown(**params: str) -> list[str]:
        return [r.split(" ", 3)[2] for r in _rows(auditor_client.get(URL, params))]

    assert shown() == ["suzuki", "sato", "suzuki", "=cmd|'", "sato"]
    assert shown(user="sato") == ["sato", "sato"]
    assert shown(q="scanner") == ["sato"]
    assert shown(q="network") == ["suzuki"]
    assert shown(action="export") == ["suzuki"]
    assert shown(action="change") == ["suzuki", "sato"]
    assert shown(action="delete") == ["suzuki"]
    assert shown(since="2026-04-02", until="2026-04-04") == ["sato", "suzuki", "=cmd|'"]
    assert shown(until="2026-04-01") == ["sato"]
    assert shown(user="nobody") == []
    assert (
        "Nothing in the audit log matches." in auditor_client.get(URL, {"q": "x"}).content.decode()
    )


def test_bad_filters_are_named_not_obeyed(auditor_client: Client) -> None:
    event_at(T0, "login", username="sato")
    response = auditor_client.get(URL, {"since": "2026-05-01", "until": "2026-04-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    response = auditor_client.get(URL, {"action": "drop table", "since": "yesterday"})
    assert response.status_code == 200 and len(_rows(response)) == 1
    assert "Select a valid choice" in response.content.decode()
    # a forged cursor is ignored: the newest page is shown
    for forged in (
        "'; DROP TABLE x; --",
        "2026-04-01T09:00:00+00:00_e_99999999999999999999",
        "2026-04-01T09:00:00+00:00_e_9999999999999999999",
        "9999-99-99T00:00:00+00:00_c_1",
    ):
        assert len(_rows(auditor_client.get(URL, {"before": forged, "after": forged}))) == 1
    response = auditor_client.get(URL, {"q": "a\x00b", "user": "\x00"})
    assert response.status_code == 200 and "Null characters are not allowed" in (
        response.content.decode()
    )


def test_paging_visits_every_entry_once_in_order() -> None:
    # Ties on the same instant across both tables are where a cursor goes wrong.
    for i in range(60):
        when = T0 + datetime.timedelta(minutes=i // 3)
        event_at(when, "login", username=f"user{i}")
        change_at(when, user_name=f"user{i}")
    seen: list[Cursor] = []
    page = timeline.page(Filters(), size=25)
    assert page.newer is None
    while True:
        seen.extend(e.cursor for e in page.entries)
        if page.older is None:
            break
        page = timeline.page(Filters(), before=page.older, size=25)
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)
    # and back again from the oldest page
    back: list[Cursor] = [e.cursor for e in page.entries]
    while page.newer is not None:
        page = timeline.page(Filters(), after=page.newer, size=25)
        back = [e.cursor for e in page.entries] + back
    assert back == seen


def test_the_page_links_older_and_newer(auditor_client: Client) -> None:
    for i in range(55):
        event_at(T0 + datetime.timedelta(seconds=i), "export", username=f"u{i}")
    first = auditor_client.get(URL, {"action": "export"})
    assert len(_rows(first)) == 50
    older = re.search(r'href="(\?[^"]+)" rel="next"', first.content.decode())
    assert older is not None and "action=export" in older.group(1)
    second = auditor_client.get(URL + older.group(1).replace("&amp;", "&"))
    assert [r.split(" ")[2] for r in _rows(second)] == ["u4", "u3", "u2", "u1", "u0"]
    assert 'rel="prev"' in second.content.decode()


def test_it_reads_in_japanese(auditor_client: Client) -> None:
    auditor_client.cookies["django_language"] = "ja"
    event_at(T0, "export", username="sato")
    html = auditor_client.get(URL).content.decode()
    assert "監査ログ" in html and "エクスポート" in html
