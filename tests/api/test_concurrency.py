"""Two concurrent edits of one asset through the API: the second gets 412, nothing is lost.

Both clients hold the same ETag. The first one's write is held open just after its If-Match
check; the second arrives in that window. Because the check and the write happen on the row
locked for the write (select_for_update on PostgreSQL; SQLite's write transaction takes the
database lock at BEGIN), the second waits for the first to commit, then sees the new version and
is refused. Without the lock both would pass the check and the second would silently overwrite
the first.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from medshield.api import crud
from medshield.assets.models import Asset
from medshield.core.models import ObjectChange
from tests.api.conftest import make_token

#: how long the first write stays open after its check (the second arrives meanwhile)
HOLD_SECONDS = 0.5


@pytest.mark.django_db(transaction=True)
def test_the_second_of_two_concurrent_edits_gets_412(admin, hospital, monkeypatch):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "SQLite's in-memory test database is shared-cache: a second writer fails at once "
            "instead of waiting (a file database waits; PostgreSQL runs this test)"
        )
    token = make_token(admin)
    headers = {"Authorization": f"Bearer {token}"}
    path = "/api/assets/ME-000101/"
    version = Client().get(path, headers=headers)["ETag"]

    first_checked = threading.Event()
    original = crud.check_if_match

    def held_check(request: Any, obj: Any) -> None:
        original(request, obj)
        if request.headers.get("X-Test-Client") == "first":
            first_checked.set()
            time.sleep(HOLD_SECONDS)

    monkeypatch.setattr(crud, "check_if_match", held_check)
    results: dict[str, Any] = {}

    def edit(name: str, notes: str) -> None:
        try:
            response = Client().patch(
                path,
                data={"notes": notes},
                content_type="application/json",
                headers={**headers, "If-Match": version, "X-Test-Client": name},
            )
            results[name] = (response.status_code, response.json())
        finally:
            connection.close()

    first = threading.Thread(target=edit, args=("first", "checked by A"))
    second = threading.Thread(target=edit, args=("second", "checked by B"))
    first.start()
    assert first_checked.wait(10), "the first edit never reached its check"
    second.start()
    first.join(20)
    second.join(20)

    assert results["first"][0] == 200, results
    assert results["second"][0] == 412, results
    assert results["second"][1]["code"] == "stale"
    assert Asset.objects.get(asset_tag="ME-000101").notes == "checked by A"
    updates = ObjectChange.objects.filter(object_id=hospital.pump.pk, action="update")
    assert [c.changes["notes"][1] for c in updates if "notes" in c.changes] == ["checked by A"]
