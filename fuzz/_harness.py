"""Shared set-up of the atheris harnesses: Django on a throw-away SQLite database.

Each harness calls :func:`run` with its target. Exceptions an importer documents as its refusal
are swallowed; anything else propagates, and atheris reports it with the input that caused it
(saved as ``crash-*`` in the working directory).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable

import atheris

_DATA = tempfile.mkdtemp(prefix="medshield-fuzz-")
os.environ.update(
    DJANGO_SETTINGS_MODULE="medshield.settings",
    MEDSHIELD_DATA_DIR=_DATA,
    DATABASE_URL="",
)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def setup_django() -> None:
    """Configure Django and create the schema (quietly)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def rolled_back(call: Callable[[], object]) -> None:
    """Run ``call`` in a transaction that is always rolled back (the database stays small)."""
    from django.db import transaction

    with transaction.atomic():
        try:
            call()
        finally:
            transaction.set_rollback(True)


def run(target: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


def temp_file(data: bytes, name: str) -> str:
    """``data`` written to a file (the file importers take paths), reused between runs."""
    path = os.path.join(_DATA, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path
