"""Lay out DOT text with Graphviz and return SVG, PNG or PDF bytes."""

from __future__ import annotations

import logging
import re
import subprocess

import graphviz
from django.conf import settings
from graphviz.backend import dot_command, execute

FORMATS = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}

log = logging.getLogger(__name__)


class RenderError(RuntimeError):
    """Graphviz failed; the message carries what it printed."""


def _simpler(dot: str) -> str:
    """The same drawing without the two features behind Graphviz's known layout crashes
    ("trouble in init_rank", "lost edge" with clusters): global ranking and edges that end at a
    cluster's border. Boxes, nodes and edges stay; only the routing gets plainer."""
    dot = dot.replace('newrank="true", ', "").replace('compound="true", ', "")
    return re.sub(r', lhead="[^"]*"', "", dot)


def render(dot: str, fmt: str) -> bytes:
    """``dot`` laid out by Graphviz's ``dot`` engine, in ``fmt`` (svg, png or pdf)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "png":
        # 150 dpi prints legibly on A3 without making the web preview huge.
        dot = dot.replace("graph [", 'graph [dpi="150", ', 1)
    # cairo renders Japanese with the fontconfig fallback chain (Noto Sans CJK JP).
    renderer = "cairo" if fmt in {"png", "pdf"} else None
    try:
        return _pipe(dot, fmt, renderer)
    except RenderError as first:
        if "took longer" in str(first):
            raise  # a plainer layout of the same size would time out as well
        log.warning("Graphviz failed (%s); drawing again with a plainer layout", first)
        try:
            return _pipe(_simpler(dot), fmt, renderer)
        except RenderError:
            raise first from None


def _pipe(dot: str, fmt: str, renderer: str | None) -> bytes:
    # graphviz.pipe() has no timeout; the package's own command builder and runner (what pipe
    # calls) pass one to subprocess, which kills a layout that runs away.
    command = dot_command.command("dot", fmt, renderer=renderer)
    try:
        process = execute.run_check(
            command,
            input=dot.encode("utf-8"),
            capture_output=True,
            quiet=True,
            timeout=settings.DIAGRAM_TIMEOUT,
        )
        return bytes(process.stdout)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"Graphviz took longer than {settings.DIAGRAM_TIMEOUT} s; narrow the diagram with a "
            "filter or keep large subnets collapsed (MEDSHIELD_DIAGRAM_TIMEOUT raises the limit)"
        ) from None
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if exc.stderr else str(exc)
        raise RenderError(stderr.strip()) from None
    except graphviz.ExecutableNotFound as exc:
        raise RenderError("Graphviz's dot is not installed (Debian package graphviz)") from exc
