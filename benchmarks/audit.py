"""Audit log benchmark: the log page, its filters and its export at a million rows per table.

Usage: .venv/bin/python benchmarks/audit.py [--events 1000000] [--changes 1000000]
       [--database postgres://postgres@127.0.0.1:5432/bench_audit]

Fills a fresh database (a temporary SQLite file, or the PostgreSQL database named, which is
dropped and created) with N audit events and N history rows spread over three years, then times
the page as a browser gets it (view + template, through Django's test client) for the newest
page, a page deep in the past, and each filter, plus the CSV export's rate. Every figure is the
best of three runs after one untimed run. Target (issue 7): every page under 0.5 s at 1M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
USERS = 200


def _fill(events: int, changes: int) -> None:
    import datetime
    import random

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from medshield.assets.models import Asset

    rng = random.Random(7)
    ops = connection.ops
    jsonb = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    start = timezone.now() - datetime.timedelta(days=3 * 365)
    span = 3 * 365 * 86400
    actions = ["login"] * 60 + ["logout"] * 30 + ["export"] * 5 + ["denied"] * 4 + ["import"]
    asset_type = ContentType.objects.get_for_model(Asset).pk

    def when(i: int, n: int) -> Any:
        return ops.adapt_datetimefield_value(start + datetime.timedelta(seconds=span * i / n))

    # the placeholders are this function's constants; every value goes as a parameter
    event_sql = (
        "INSERT INTO audit_auditevent (time, action, username, ip, method, path, target, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, JSONB)"
    ).replace("JSONB", jsonb)
    change_sql = (
        "INSERT INTO core_objectchange (time, user_name, action, object_type_id, object_id,"
        " object_repr, changes) VALUES (%s, %s, %s, %s, %s, %s, JSONB)"
    ).replace("JSONB", jsonb)
    rare = set(rng.sample(range(events), 10))
    with transaction.atomic(), connection.cursor() as cursor:
        batch: list[tuple[Any, ...]] = []
        for i in range(events):
            user = "rare-user" if i in rare else f"user{rng.randrange(USERS)}"
            action = "purge" if i in rare else rng.choice(actions)
            batch.append(
                (
                    when(i, events),
                    action,
                    user,
                    f"10.0.{i % 250}.{i % 200 + 1}",
                    "GET",
                    f"/assets/ME-{i % 50000:05d}/",
                    f"ME-{i % 50000:05d}",
                    json.dumps({"format": "csv", "rows": i % 1000}),
                )
            )
            if len(batch) == 5000:
                cursor.executemany(event_sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(event_sql, batch)
        batch = []
        for i in range(changes):
            batch.append(
                (
                    when(i, changes),
                    f"user{rng.randrange(USERS)}",
                    "update",
                    asset_type,
                    i % 50000,
                    f"輸液ポンプ (ME-{i % 50000:05d})",
                    json.dumps({"software_version": [f"1.{i % 9}", f"1.{i % 9 + 1}"]}),
                )
            )
            if len(batch) == 5000:
                cursor.executemany(change_sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(change_sql, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _best(fn: Any, runs: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def one(events: int, changes: int) -> dict[str, Any]:
    """Runs in a child process whose environment points at a fresh database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from medshield.audit import export, timeline

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    _fill(events, changes)
    out: dict[str, Any] = {"events": events, "changes": changes}
    out["fill_s"] = time.perf_counter() - t0

    user = get_user_model().objects.create_superuser("bench", password="x")  # noqa: S106
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def get(params: dict[str, str]) -> None:
        response = client.get("/audit/", params)
        assert response.status_code == 200, response.status_code

    # a cursor two and a half years back
    old = timeline.page(timeline.Filters(until=_days_ago(900)), size=1).entries[0].cursor
    cases = {
        "newest page": {},
        "deep page (900 days back)": {"before": str(old)},
        "user filter (10 rows)": {"user": "rare-user"},
        "user filter (common)": {"user": "user7"},
        "action filter (10 rows)": {"action": "purge"},
        "action filter (export, 5%)": {"action": "export"},
        "changes only": {"action": "change"},
        "text search (common)": {"q": "ME-00042"},
        "text search (no match)": {"q": "no-such-text"},
        "date range (one day)": {"since": str(_days_ago(500)), "until": str(_days_ago(500))},
    }
    for name, params in cases.items():
        out[f"page: {name}"] = _best(lambda params=params: get(params))

    filters = timeline.Filters(since=_days_ago(30))

    def exported() -> int:
        n = 0
        for piece in export.chunks("csv", filters):
            n += piece.count("\r\n")
        return n

    t0 = time.perf_counter()
    rows = exported()
    seconds = time.perf_counter() - t0
    out["export rows (30 days)"] = rows - 1
    out["export rows/s"] = (rows - 1) / seconds
    return out


def _days_ago(days: int) -> Any:
    import datetime

    from django.utils import timezone

    return timezone.localdate() - datetime.timedelta(days=days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.events, args.changes)))
        return
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, MEDSHIELD_DATA_DIR=folder, DATABASE_URL=args.database)
        if args.database:
            name = args.database.rsplit("/", 1)[1]
            base = args.database.rsplit("/", 1)[0] + "/postgres"
            subprocess.run(["psql", base, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
            subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
        child = [sys.executable, __file__, "--child", "--events", str(args.events)]
        child += ["--changes", str(args.changes)]
        result = subprocess.run(child, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            sys.stderr.write(result.stderr)
            raise SystemExit(result.returncode)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    database = "PostgreSQL" if args.database else "SQLite"
    print(
        f"audit log, {database}: {figures.pop('events'):,} events + {figures.pop('changes'):,} "
        f"changes (filled in {figures.pop('fill_s'):.0f} s)"
    )
    for name, value in figures.items():
        if name.startswith("page: "):
            print(f"  {name[6:]:<32} {value * 1000:8.0f} ms")
        elif name.endswith("rows/s"):
            print(f"  {name:<32} {value:8,.0f}")
        else:
            print(f"  {name:<32} {value:8,}")


if __name__ == "__main__":
    main()
