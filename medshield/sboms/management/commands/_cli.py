"""What the SBOM and VEX commands share: who the CLI acts as, reading the file, refusals."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.core.actor import Actor, actor_for_user
from medshield.register.errors import ImportRejected
from medshield.sboms.readers import max_bytes


def add_user_argument(parser: CommandParser) -> None:
    parser.add_argument("--user", metavar="NAME", help="login the history records the import under")


def actor(name: str | None) -> Actor:
    """The named login, or the operating-system user marked as the CLI."""
    if name:
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"no login named {name!r}", returncode=2)
        return actor_for_user(user)
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        who = "unknown"
    return Actor(user_id=None, name=f"{who} (cli)")


def read(path: str) -> bytes:
    """The file's bytes, refusing an oversized file before reading it into memory."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes():
            raise CommandError(
                f"refused {path}: the file is {size:,} bytes, over the limit of {max_bytes():,}",
                returncode=1,
            )
        return file.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}", returncode=2) from None


def refused(command: BaseCommand, path: str, exc: ImportRejected) -> CommandError:
    """Print every reason on stderr; the error to raise (exit status 1)."""
    for error in exc.errors:
        command.stderr.write(str(error))
    return CommandError(f"refused {path}; nothing was imported", returncode=1)
