"""Diagram benchmark: time to draw the network diagram for 500, 5,000 and 20,000 assets.

Usage: .venv/bin/python benchmarks/diagrams.py [--sizes 500,5000,20000] [--expanded-limit 20000]

For each size it loads the scaled demo hospital into a fresh SQLite database, then times
medshield's whole path (read the register, build DOT, lay it out with Graphviz, SVG out) for the
default view (collapsed above 400 endpoints) and for the fully expanded view, and beside each the
time of Graphviz `dot -Tsvg` alone on the very same DOT text. Targets (issue 3): the default view
under 1 s at 5,000 assets and under 4 s at 20,000; the expanded view within 1.2x of dot alone.
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

ROOT = Path(__file__).resolve().parents[1]


def one(size: int, expanded_limit: int) -> dict[str, float | int]:
    """Runs in a child process whose environment points at a fresh database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from medshield.demo.generator import build_demo_document
    from medshield.diagrams import service
    from medshield.diagrams.render import render
    from medshield.register.importer import import_document

    call_command("migrate", verbosity=0)
    import_document(build_demo_document(assets=size, seed=3))
    out: dict[str, float | int] = {"assets": size}
    views = [("default", None)]
    if size <= expanded_limit:
        views.append(("expanded", False))
    for name, collapse in views:
        # One untimed run fills caches on both sides, as a page view after start-up would.
        service.build(service.Request(kind="network", collapse=collapse))
        t0 = time.perf_counter()
        text = service.build(service.Request(kind="network", collapse=collapse))
        svg = render(text, "svg")
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["dot", "-Tsvg", "-o", os.devnull], input=text.encode(), check=True)
        alone = time.perf_counter() - t0
        out[f"{name}_total"] = total
        out[f"{name}_dot"] = alone
        out[f"{name}_nodes"] = text.count("[label=")
        out[f"{name}_svg_kb"] = len(svg) // 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="500,5000,20000")
    parser.add_argument(
        "--expanded-limit", type=int, default=20000, help="largest size drawn fully expanded"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.expanded_limit)))
        return
    print(
        f"{'assets':>7} {'view':<9} {'nodes':>6} {'medshield':>10} {'dot alone':>10} {'ratio':>6}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="medshield-diagram-bench-") as work:
            env = dict(
                os.environ, MEDSHIELD_DATA_DIR=work, DATABASE_URL=f"sqlite:///{work}/bench.sqlite3"
            )
            res = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(size),
                    "--expanded-limit",
                    str(args.expanded_limit),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(res.stdout.strip().splitlines()[-1])
        for view in ("default", "expanded"):
            if f"{view}_total" not in figures:
                continue
            total, alone = figures[f"{view}_total"], figures[f"{view}_dot"]
            print(
                f"{size:>7} {view:<9} {figures[f'{view}_nodes']:>6} {total:>9.2f}s "
                f"{alone:>9.2f}s {total / alone:>5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
