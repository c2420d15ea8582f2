"""What django.setup() leaves behind for the rest of a medshield process."""

from __future__ import annotations

import os
import subprocess
import sys


def test_start_up_objects_are_moved_out_of_the_collectors_way() -> None:
    """The models and modules loaded at start-up are in the permanent generation (gc.freeze):
    later collections skip them, and the process does not tear them down at exit."""
    code = "import gc, django; django.setup(); print(gc.get_freeze_count() > 10_000)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medshield.settings"},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip() == "True"
