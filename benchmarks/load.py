"""Load test (issue 7): two gunicorn processes on PostgreSQL under 200 requests/s of mixed reads
and writes for 60 s, from a bounded open-loop generator.

Usage: .venv/bin/python benchmarks/load.py [--rate 200] [--duration 60]
       [--database-url postgres://postgres@127.0.0.1:5432/h_jobs_load] [--threads 4]
       [--layout two-servers|one-server] [--keep]

What it does:

* drops and creates the database named in --database-url (its own: never point it at a register
  you keep), migrates it, loads the demo hospital (`medshield demo load`) and creates a login;
* starts the app: by default two `medshield serve` processes on two loopback ports, each one
  gunicorn worker process with --threads threads, as two app hosts behind nginx would be; the
  generator sends request i to server i mod 2 (round robin, nginx's default). `--layout
  one-server` starts one `medshield serve --workers 2` instead (one gunicorn master, two worker
  processes on one port);
* starts --job-workers `medshield worker` processes (2) and runs the servers with
  MEDSHIELD_AUTO_MATCH=worker (--auto-match): an edit queues one re-match job instead of
  re-matching inside the request, as a production install with job workers runs. The workers'
  CPU is counted with the app's; a failed job counts as an error;
* runs the generator in this process (separate from the servers): an open loop that starts
  operations at a fixed pace whatever the server's latency, the pace at which they send --rate
  requests per second (an edit is two requests: 200 requests/s of the API mix, 20% edits, is
  166.7 operations/s). Latency is counted from the
  moment the operation was due, so time spent waiting for a free generator thread counts too and
  a slow server cannot hide behind a slowed-down client (no coordinated omission);
* the mix: the asset list with filters, sort and a random page (and a text search), asset
  pages, places, subnets, external connections, the discovery, feeds and jobs pages, the network
  diagram page (Graphviz runs on each such request) and asset edits through the web form with
  its CSRF token and optimistic version field (a GET of the form, then the POST; each is one
  request of its own kind);
* `--mix api`: the REST API as a client program uses it, with a bearer token: filtered asset
  lists, asset reads, subnets, external connections and edits (a GET for the ETag, then a PATCH
  with If-Match; one edit in five also changes the software version, which the job workers
  re-match);
* prints, per request kind and overall: requests, errors, p50/p95/p99 latency; and the achieved
  rate. The issue's target: 200 requests/s for 60 s, no error, p95 under 300 ms.

The server processes and the generator share the machine's cores: read the figures with that in
mind (the script prints the core count and the load average).
"""

from __future__ import annotations

import argparse
import html.parser
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "load-test-password-1"
#: the kind of an operation dropped because it waited too long for a client thread
NOT_SENT = "(not sent)"
#: the issue's target rate, for the CPU arithmetic
TARGET_RATE = 200
#: one API edit in this many also changes the asset's software version (re-matched by a worker)
EDITS_PER_VERSION_CHANGE = 5
BUMP = "+lt"


# --- set-up --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def medshield(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(BIN / "medshield"), *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def fresh_database(url: str) -> None:
    """Drop and create the benchmark's own database."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing database name {name!r}")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def asset_tags(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [tag for (tag,) in conn.execute("SELECT asset_tag FROM assets_asset ORDER BY id")]


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start")


def login(port: int, username: str) -> str:
    """Log in through the login form; the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/login/")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = cookie_values(response.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    body = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    )
    conn.request(
        "POST",
        "/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    response = conn.getresponse()
    response.read()
    cookies.update(cookie_values(response.headers.get_all("Set-Cookie") or []))
    if response.status != 302 or "sessionid" not in cookies:
        raise SystemExit(f"login failed: {response.status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def cookie_values(headers: list[str]) -> dict[str, str]:
    values = {}
    for header in headers:
        name, _, rest = header.partition("=")
        values[name.strip()] = rest.split(";", 1)[0]
    return values


# --- the asset form ------------------------------------------------------------------------------
class FormReader(html.parser.HTMLParser):
    """The fields of the asset form as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._selected: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "asset-form" in a.get("class", "").split():
            self._in_form = True
        if not self._in_form or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in {"submit", "button"}:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._selected, self._first_option = a.get("name"), None, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self._selected = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.fields.append((self._select, self._selected or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_fields(page: str) -> list[tuple[str, str]]:
    reader = FormReader()
    reader.feed(page)
    return reader.fields


# --- the generator -------------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str
    ms: float
    ok: bool
    detail: str = ""


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class Load:
    """The operations of the mix, each sending one or two requests to one server."""

    def __init__(
        self,
        ports: list[int],
        cookie: str,
        tags: list[str],
        seed: int,
        token: str = "",
        kind: str = "web",
    ) -> None:
        self.ports = ports
        self.cookie = cookie
        self.token = token
        self.kind = kind
        self.tags = tags
        self.rng = random.Random(seed)
        self.local = threading.local()
        self.results = Results()
        self.edits = 0
        self.edit_lock = threading.Lock()

    def _conn(self, port: int) -> http.client.HTTPConnection:
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        if port not in conns:
            conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return conns[port]

    def request(
        self,
        port: int,
        method: str,
        path: str,
        body: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
        else:
            headers = {"Cookie": self.cookie}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers.update(extra or {})
        for attempt in range(2):
            conn = self._conn(port)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, dict(response.getheaders()), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between two requests: reconnect
                # once (a browser does the same); a second failure is an error.
                conn.close()
                self.local.conns.pop(port, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def timed_get(self, kind: str, port: int, path: str, due: float, marker: bytes) -> bytes:
        try:
            status, _, data = self.request(port, "GET", path)
            ok = status == 200 and marker in data
            detail = "" if ok else f"{status} {path}"
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            ok, data, detail = False, b"", f"{type(exc).__name__}: {exc} {path}"
        self.results.add(Sample(kind, (time.perf_counter() - due) * 1000, ok, detail))
        return data

    # the operations: (name, weight, function(port, due))
    def op_list(self, port: int, due: float) -> None:
        filters = self.rng.choice(
            [
                {"kind": "medical_device", "sort": "name"},
                {"criticality": "life_sustaining", "sort": "-asset_tag"},
                {"kind": "pc", "sort": "department"},
                {"status": "in_service", "sort": "-name"},
                {"sort": "place"},
                {"network_role": "endpoint", "sort": "model"},
            ]
        )
        filters["page"] = str(self.rng.randint(1, 4))
        path = "/assets/?" + urllib.parse.urlencode(filters)
        self.timed_get("asset list", port, path, due, b"<table")

    def op_search(self, port: int, due: float) -> None:
        q = self.rng.choice(["CT", "ポンプ", "PACS", "10.1.", "モニタ", "Switch"])
        path = "/assets/?" + urllib.parse.urlencode({"q": q, "sort": "name"})
        self.timed_get("asset search", port, path, due, b"<table")

    def op_detail(self, port: int, due: float) -> None:
        tag = urllib.parse.quote(self.rng.choice(self.tags))
        self.timed_get("asset page", port, f"/assets/{tag}/", due, b"</html>")

    def page(self, kind: str, path: str) -> Callable[[int, float], None]:
        marker = b'"items"' if path.startswith("/api/") else b"</html>"

        def op(port: int, due: float) -> None:
            self.timed_get(kind, port, path, due, marker)

        return op

    def op_edit(self, port: int, due: float) -> None:
        with self.edit_lock:
            # Walk the assets in order, so two edits of one asset are minutes apart and the
            # optimistic version check never refuses one of ours.
            tag = self.tags[self.edits % len(self.tags)]
            self.edits += 1
        path = f"/assets/{urllib.parse.quote(tag)}/edit/"
        page = self.timed_get("asset edit form (GET)", port, path, due, b"version")
        if not page:
            return
        fields = [(k, v) for k, v in form_fields(page.decode()) if k != "notes"]
        fields.append(("notes", f"load test edit {self.edits} at {time.time():.3f}"))
        sent = time.perf_counter()
        try:
            status, headers, _ = self.request(port, "POST", path, urllib.parse.urlencode(fields))
            location = headers.get("Location", "")
            ok = status == 302 and f"/assets/{tag}/" in urllib.parse.unquote(location)
            detail = "" if ok else f"{status} POST {path}"
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, f"{type(exc).__name__}: {exc} POST {path}"
        self.results.add(
            Sample("asset edit (POST)", (time.perf_counter() - sent) * 1000, ok, detail)
        )

    # the REST API, as a client program uses it (a bearer token, JSON, ETag/If-Match writes)
    def op_api_list(self, port: int, due: float) -> None:
        filters = self.rng.choice(
            [{"kind": "medical_device"}, {"criticality": "life_sustaining"}, {"q": "PACS"}, {}]
        )
        filters.update(limit="50", offset=str(50 * self.rng.randint(0, 3)))
        path = "/api/assets/?" + urllib.parse.urlencode(filters)
        self.timed_get("api asset list", port, path, due, b'"items"')

    def op_api_detail(self, port: int, due: float) -> None:
        tag = urllib.parse.quote(self.rng.choice(self.tags))
        self.timed_get("api asset", port, f"/api/assets/{tag}/", due, b'"asset_tag"')

    def op_api_edit(self, port: int, due: float) -> None:
        with self.edit_lock:
            tag = self.tags[self.edits % len(self.tags)]
            self.edits += 1
            number = self.edits
        path = f"/api/assets/{urllib.parse.quote(tag)}/"
        try:
            status, headers, got = self.request(port, "GET", path)
            etag = {k.lower(): v for k, v in headers.items()}.get("etag", "")
            ok = status == 200 and bool(etag)
            detail = "" if ok else f"{status} GET {path} (ETag {etag!r})"
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, f"{type(exc).__name__}: {exc} GET {path}"
        self.results.add(
            Sample("api asset edit (GET)", (time.perf_counter() - due) * 1000, ok, detail)
        )
        if not ok:
            return
        sent = time.perf_counter()
        try:
            change = {"notes": f"load test edit {number} at {time.time():.3f}"}
            if number % EDITS_PER_VERSION_CHANGE == 0:
                # Now and then a firmware update, which the job workers re-match; an edit of
                # the notes alone changes nothing matching reads and queues no re-match.
                version = json.loads(got).get("software_version") or ""
                change["software_version"] = (
                    version[: -len(BUMP)] if version.endswith(BUMP) else version + BUMP
                )
            status, _, _ = self.request(port, "PATCH", path, json.dumps(change), {"If-Match": etag})
            ok = status == 200
            detail = "" if ok else f"{status} PATCH {path}"
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, f"{type(exc).__name__}: {exc} PATCH {path}"
        self.results.add(
            Sample("api asset edit (PATCH)", (time.perf_counter() - sent) * 1000, ok, detail)
        )

    def mix(self) -> list[tuple[Callable[[int, float], None], float, int]]:
        """(operation, share of the operations, requests it sends)."""
        if self.kind == "api":
            return [
                (self.op_api_list, 0.35, 1),
                (self.op_api_detail, 0.35, 1),
                (self.page("api subnets", "/api/subnets/?limit=50"), 0.05, 1),
                (self.page("api connections", "/api/connections/?limit=50"), 0.05, 1),
                (self.op_api_edit, 0.20, 2),
            ]
        return [
            (self.op_list, 0.30, 1),
            (self.op_search, 0.05, 1),
            (self.op_detail, 0.25, 1),
            (self.page("places", "/places/"), 0.04, 1),
            (self.page("subnets", "/subnets/"), 0.03, 1),
            (self.page("connections", "/connections/"), 0.02, 1),
            (self.page("discovery", "/discovery/"), 0.05, 1),
            (self.page("feeds", "/feeds/"), 0.05, 1),
            (self.page("jobs", "/jobs/"), 0.05, 1),
            (self.page("network diagram", "/diagrams/network/"), 0.01, 1),
            (self.op_edit, 0.15, 2),
        ]

    def operation_rate(self, request_rate: float) -> float:
        """Operations per second that send ``request_rate`` requests per second on average."""
        mix = self.mix()
        per_operation = sum(w * n for _, w, n in mix) / sum(w for _, w, _ in mix)
        return request_rate / per_operation


def run_load(
    load: Load, rate: float, duration: float, threads: int, max_lag: float
) -> tuple[float, int]:
    """Start operations for ``duration`` s so that they send ``rate`` requests per second (an
    edit sends two, its read and its write); returns (elapsed, late starts).

    Bounded: an operation still waiting for a client thread ``max_lag`` s after it was due is
    not sent but counted as an error (one per request it would have sent), so an overloaded
    server ends the run in about duration + max_lag seconds instead of draining a backlog for
    many minutes.
    """
    ops, weights, requests = zip(*load.mix(), strict=True)
    sends = dict(zip(ops, requests, strict=True))
    op_rate = load.operation_rate(rate)
    count = int(op_rate * duration)
    plan = load.rng.choices(ops, weights=weights, k=count)
    late = 0

    def bounded(op: Callable[[int, float], None], port: int, due: float) -> None:
        lag = time.perf_counter() - due
        if lag > max_lag:
            for _ in range(sends[op]):
                load.results.add(
                    Sample(NOT_SENT, lag * 1000, False, f"client backlog over {max_lag:.0f} s")
                )
            return
        op(port, due)

    pool = ThreadPoolExecutor(max_workers=threads)
    start = time.perf_counter() + 0.1
    for i, op in enumerate(plan):
        due = start + i / op_rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.05:
            late += 1
        pool.submit(bounded, op, load.ports[i % len(load.ports)], due)
    pool.shutdown(wait=True)
    return time.perf_counter() - start, late


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU of a process (and of its reaped children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (a gunicorn master and its workers)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def postgres_backends(url: str) -> list[int]:
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return [pid for (pid,) in rows]


def job_states(url: str) -> list[tuple[str, str, int]]:
    """(kind, state, count) of the jobs in the benchmark's database."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT kind, state, count(*) FROM jobs_job GROUP BY kind, state ORDER BY 1, 2"
        ).fetchall()
    return [(kind, state, int(n)) for kind, state, n in rows]


@dataclass
class CpuMeter:
    """CPU spent by the app processes, their PostgreSQL backends and this generator."""

    servers: list[int]
    url: str
    workers: list[int] = field(default_factory=list)
    start: dict[str, dict[int, float]] = field(default_factory=dict)
    machine_start: float = 0.0

    def snapshot(self) -> dict[str, dict[int, float]]:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "app": {p: cpu_seconds(p) for s in self.servers for p in process_tree(s)},
            "job workers": {p: cpu_seconds(p) for w in self.workers for p in process_tree(w)},
            "postgresql": {p: cpu_seconds(p, False) for p in postgres_backends(self.url)},
            "generator": {0: usage.ru_utime + usage.ru_stime},
        }

    def begin(self) -> None:
        self.start = self.snapshot()
        self.machine_start = machine_busy()

    def spent(self) -> dict[str, float]:
        """CPU seconds per part since begin(). A PostgreSQL backend that ended in between (its
        connection reached CONN_MAX_AGE and was reopened) is missing from "postgresql"; the
        machine's whole busy time, kernel included, is in machine_spent()."""
        end = self.snapshot()
        return {
            part: sum(v - self.start.get(part, {}).get(p, 0.0) for p, v in end[part].items())
            for part in end
        }

    def machine_spent(self) -> float:
        return machine_busy() - self.machine_start


def machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (all processes and the kernel), from
    /proc/stat: every column but idle and iowait."""
    columns = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(c) for c in columns]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK


def report(results: Results, elapsed: float, late: int) -> bool:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in results.samples:
        by_kind[s.kind].append(s)
    head = f"{'request kind':<24} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(head)
    print("-" * len(head))

    def line(name: str, samples: list[Sample]) -> None:
        ms = [s.ms for s in samples]
        errors = sum(not s.ok for s in samples)
        print(
            f"{name:<24} {len(samples):>6} {errors:>6} {percentile(ms, 50):>8.1f} "
            f"{percentile(ms, 95):>8.1f} {percentile(ms, 99):>8.1f}"
        )

    for name in sorted(by_kind):
        line(name, by_kind[name])
    print("-" * len(head))
    line("all", results.samples)
    errors = [s for s in results.samples if not s.ok]
    sent = [s for s in results.samples if s.kind != NOT_SENT]
    p95 = percentile([s.ms for s in results.samples], 95)
    print(
        f"achieved {len(sent) / elapsed:.1f} requests/s answered over {elapsed:.1f} s "
        f"({len(sent)} requests sent, {len(results.samples) - len(sent)} not sent, "
        f"{len(errors)} errors in all, {late} operations started >50 ms late by the generator)"
    )
    shown: dict[str, int] = defaultdict(int)
    for s in errors:
        shown[s.kind] += 1
        if shown[s.kind] <= 3:
            print(f"  error: {s.kind}: {s.detail}")
    passed = not errors and p95 < 300
    print(f"target (no error, p95 < 300 ms): {'met' if passed else 'MISSED'}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="requests per second: operations start at the rate that sends this many (an edit "
        "is two requests, its read and its write)",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/h_jobs_load",
        help="a PostgreSQL database of the benchmark's own: it is dropped and created",
    )
    parser.add_argument("--layout", choices=["two-servers", "one-server"], default="two-servers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process")
    parser.add_argument("--client-threads", type=int, default=64)
    parser.add_argument(
        "--max-lag",
        type=float,
        default=10.0,
        help="seconds an operation may wait for a client thread before it is dropped (an error)",
    )
    parser.add_argument(
        "--mix",
        choices=["web", "api"],
        default="web",
        help="web: the pages people use (default); api: the REST API as a client program uses it",
    )
    parser.add_argument(
        "--auto-match",
        choices=["worker", "on", "off"],
        default="worker",
        help="MEDSHIELD_AUTO_MATCH of the servers: worker (the production shape: each edit "
        "queues a re-match job the job workers run), on (the request re-matches) or off",
    )
    parser.add_argument(
        "--job-workers", type=int, default=2, help="`medshield worker` processes to start"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medshield-load-"))
    env = dict(os.environ)
    env.update(
        MEDSHIELD_DATA_DIR=str(work),
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="medshield.settings",
        MEDSHIELD_PASSWORD=PASSWORD,
        MEDSHIELD_AUTO_MATCH=args.auto_match,
    )
    servers: list[subprocess.Popen[bytes]] = []
    job_workers: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.perf_counter()
        fresh_database(args.database_url)
        medshield(env, "migrate", "--no-input", "-v", "0")
        medshield(env, "demo", "load")
        medshield(env, "createuser", "loadtest", "--admin")
        tags = asset_tags(args.database_url)
        token = subprocess.run(
            [str(BIN / "medshield"), "token", "create", "loadtest", "--name", "load test"]
            + ["--scope", "write", "--days", "1"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        took = time.perf_counter() - t0
        print(f"set-up: database, demo hospital ({len(tags)} assets) in {took:.1f} s")

        ports: list[int] = []
        layouts = (
            [("1", args.threads)] * 2 if args.layout == "two-servers" else [("2", args.threads)]
        )
        for workers, threads in layouts:
            port = free_port()
            servers.append(
                subprocess.Popen(
                    [str(BIN / "medshield"), "serve", "--bind", f"127.0.0.1:{port}"]
                    + ["--workers", workers, "--threads", str(threads)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            ports.append(port)
        for port, server in zip(ports, servers, strict=True):
            wait_until_serving(port, server)
        for _ in range(args.job_workers):
            job_workers.append(
                subprocess.Popen(
                    [str(BIN / "medshield"), "worker"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        described = (
            f"two `medshield serve` processes (ports {ports[0]}, {ports[1]}), each 1 gunicorn "
            f"worker x {args.threads} threads, requests alternating between them"
            if args.layout == "two-servers"
            else f"one `medshield serve --workers 2 --threads {args.threads}` on port {ports[0]}"
        )
        print(
            f"app: {described}; {len(job_workers)} `medshield worker` processes; "
            f"MEDSHIELD_AUTO_MATCH={args.auto_match}; PostgreSQL "
            f"{args.database_url.rsplit('/', 1)[-1]}"
        )
        cookie = login(ports[0], "loadtest")

        load = Load(ports, cookie, tags, args.seed, token, args.mix)
        # Warm-up: each server loads its templates and opens its database connections.
        warm = Load(ports, cookie, tags, args.seed + 1, token, args.mix)
        for op, _, _ in warm.mix():
            for port in ports:
                op(port, time.perf_counter())
        warm_errors = [s for s in warm.results.samples if not s.ok]
        if warm_errors:
            for s in warm_errors[:10]:
                print(f"warm-up error: {s.kind}: {s.detail}")
            raise SystemExit("the warm-up failed; not starting the load")

        cores = os.cpu_count()
        print(
            f"load: {args.mix} mix, {args.rate:.0f} requests/s "
            f"({load.operation_rate(args.rate):.1f} operations/s) for {args.duration:.0f} s, "
            "open loop, "
            f"{args.client_threads} client threads in this process; {cores} cores shared by "
            f"the servers, PostgreSQL and the generator (load average before: "
            f"{os.getloadavg()[0]:.2f})"
        )
        meter = CpuMeter(
            [server.pid for server in servers], args.database_url, [w.pid for w in job_workers]
        )
        meter.begin()
        elapsed, late = run_load(load, args.rate, args.duration, args.client_threads, args.max_lag)
        spent = meter.spent()
        machine = meter.machine_spent()
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        passed = report(load.results, elapsed, late)
        jobs = job_states(args.database_url)
        if jobs:
            print(
                "jobs the edits queued: "
                + ", ".join(f"{kind} {state} {n}" for kind, state, n in jobs)
            )
        if any(state == "failed" for _kind, state, _n in jobs):
            print("a job failed: counted as an error")
            passed = False
        answered = sum(1 for s in load.results.samples if s.kind != NOT_SENT) or 1
        print(
            "CPU per answered request: "
            + ", ".join(f"{part} {1000 * sec / answered:.1f} ms" for part, sec in spent.items())
            + f"; total {1000 * sum(spent.values()) / answered:.1f} ms, so {TARGET_RATE} "
            f"requests/s of this mix need about {sum(spent.values()) / answered * TARGET_RATE:.1f} "
            "cores"
        )
        print(
            f"the whole machine (every process and the kernel): {1000 * machine / answered:.1f} ms "
            f"of CPU per answered request, {machine / elapsed:.2f} of {cores} cores busy"
        )
        summary = {
            "requests": len(load.results.samples),
            "errors": sum(not s.ok for s in load.results.samples),
            "elapsed": round(elapsed, 2),
        }
        print(json.dumps(summary))
    finally:
        for server in [*servers, *job_workers]:
            server.terminate()
        for server in [*servers, *job_workers]:
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
