"""Fixtures shared by the whole suite: personas, the shared corpus, fast password hashing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

#: the read-only corpus of real files written by others (../shared/corpus)
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    # MD5 keeps logins in tests fast; production uses the strong default hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    return CORPUS


@pytest.fixture
def staff_password() -> str:
    return "correct-horse-battery"


@pytest.fixture
def engineer(django_user_model, staff_password):  # type: ignore[no-untyped-def]
    """A clinical engineer with every right on the register (roles arrive with issue 7)."""
    return django_user_model.objects.create_user(
        "engineer", password=staff_password, is_staff=True, is_superuser=True
    )


@pytest.fixture
def engineer_client(client, engineer):  # type: ignore[no-untyped-def]
    client.force_login(engineer)
    return client
