from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages in English (the source language), whatever the Japanese catalogue holds."""
    from django.utils import translation

    with translation.override("en"):
        yield
