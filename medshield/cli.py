"""The ``medshield`` command: a thin front over the project's Django management commands.

Commands are grouped ``medshield <noun> <verb>``: the management command ``register_import`` is
``medshield register import``. A few single-word commands stand alone (``migrate``,
``createuser``, ``serve``). ``medshield --help`` lists them all; every command takes ``--help``.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict

#: Django's own commands that medshield exposes under the same name
_DJANGO_COMMANDS = (
    "migrate",
    "makemigrations",
    "check",
    "showmigrations",
    "changepassword",
    "shell",
    "dbshell",
)


def _commands() -> dict[str, str]:
    """medshield command name → the Django app that provides it."""
    from django.core.management import get_commands

    found = {
        name: app
        for name, app in get_commands().items()
        if app.startswith("medshield.") or name in _DJANGO_COMMANDS
    }
    return dict(sorted(found.items()))


def _usage(commands: dict[str, str]) -> str:
    from django.core.management import load_command_class

    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, app in commands.items():
        noun, _, verb = name.partition("_")
        help_text = (load_command_class(app, name).help or "").strip().splitlines()
        summary = help_text[0] if help_text else ""
        groups[noun if verb else ""].append((name.replace("_", " ", 1), summary))
    lines = ["usage: medshield <command> [options]   (medshield <command> --help for more)", ""]
    for noun in sorted(groups):
        lines.append(noun or "general")
        for cmd, summary in groups[noun]:
            lines.append(f"  medshield {cmd:<26} {summary}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")
    import django

    django.setup()
    from django.core.management import load_command_class

    commands = _commands()
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage(commands))
        raise SystemExit(0)
    if argv[0] == "--version":
        from medshield import __version__

        print(f"medshield {__version__}")
        raise SystemExit(0)

    noun = argv[0]
    if len(argv) > 1 and f"{noun}_{argv[1]}" in commands:
        name, prog, rest = f"{noun}_{argv[1]}", f"medshield {noun}", argv[1:]
    elif noun in commands:
        name, prog, rest = noun, "medshield", argv
    else:
        verbs = sorted(n.partition("_")[2] for n in commands if n.startswith(f"{noun}_"))
        if verbs:
            if len(argv) == 1 or argv[1] in {"-h", "--help"}:
                print(f"usage: medshield {noun} {{{','.join(verbs)}}} [options]")
                raise SystemExit(0 if len(argv) > 1 else 2)
            print(
                f"medshield {noun}: unknown command {argv[1]!r}; choose from {', '.join(verbs)}",
                file=sys.stderr,
            )
        else:
            print(f"medshield: unknown command {noun!r}; see 'medshield --help'", file=sys.stderr)
        raise SystemExit(2)

    command = load_command_class(commands[name], name)
    # run_from_argv builds the parser's prog from argv[0] and argv[1]: "medshield register import"
    command.run_from_argv([prog, *rest])


if __name__ == "__main__":  # pragma: no cover
    main()
