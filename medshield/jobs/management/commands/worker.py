"""``medshield worker``: run background jobs (imports, matching, diagrams) from the job table."""

from __future__ import annotations

import signal
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.jobs.registry import kinds
from medshield.jobs.worker import Worker, WorkerOptions


class Command(BaseCommand):
    help = (
        "Run background jobs queued by the web pages (imports, matching, diagrams).\n\n"
        "Any number of workers, on any hosts, may run against one PostgreSQL database: each job "
        "is claimed by one of them (SELECT ... FOR UPDATE SKIP LOCKED). On SQLite run one. "
        "SIGTERM or Ctrl-C stops claiming and lets the jobs under way finish.\n"
        "Exit status: 0 stopped cleanly (with --once: the queue is empty), 1 with --once when "
        "a job failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="run the queued jobs, then exit instead of waiting for more (cron, tests)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            metavar="N",
            help="jobs run at the same time by this process (default 1; imports are heavy)",
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="how often an idle worker looks for new jobs (default 1)",
        )
        parser.add_argument(
            "--stale-after",
            type=float,
            default=120.0,
            metavar="SECONDS",
            help="a running job whose worker has been silent this long is handed to another "
            "worker, or failed after its attempts (default 120)",
        )
        parser.add_argument(
            "--list-kinds", action="store_true", help="print the job kinds this worker runs"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["list_kinds"]:
            for name, kind in kinds().items():
                self.stdout.write(f"{name:<20} {kind.label}")
            return
        if opts["concurrency"] < 1 or opts["poll"] <= 0 or opts["stale_after"] < 10:
            raise CommandError(
                "--concurrency must be at least 1, --poll positive, --stale-after at least 10",
                returncode=2,
            )
        beat = min(2.0, opts["stale_after"] / 5)
        worker = Worker(
            WorkerOptions(
                concurrency=opts["concurrency"],
                poll=opts["poll"],
                beat=beat,
                stale_after=opts["stale_after"],
                once=opts["once"],
            ),
            say=self._say,
        )

        def stop(signum: int, frame: Any) -> None:
            self._say(f"signal {signum}: finishing the jobs under way, claiming no more")
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self._say(
            f"worker {worker.name}: {opts['concurrency']} at a time, kinds: " + ", ".join(kinds())
        )
        worker.run()
        self._say(f"worker {worker.name}: stopped ({worker.done} done, {worker.failed} failed)")
        if opts["once"] and worker.failed:
            sys.exit(1)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
