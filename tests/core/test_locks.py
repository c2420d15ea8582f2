"""The cross-process lock that keeps two re-matches from writing the same rows at once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from medshield.core.locks import exclusive


def _in_thread(target: object) -> threading.Thread:
    def run() -> None:
        try:
            target()  # type: ignore[operator]
        finally:
            connection.close()  # the thread's own database connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_second_holder_waits_until_the_first_lets_go() -> None:
    order: list[str] = []
    first_in, release = threading.Event(), threading.Event()

    def first() -> None:
        with exclusive("test-lock"):
            order.append("first in")
            first_in.set()
            release.wait(10)
            order.append("first out")

    def second() -> None:
        first_in.wait(10)
        with exclusive("test-lock"):
            order.append("second in")

    threads = [_in_thread(first), _in_thread(second)]
    assert first_in.wait(10)
    time.sleep(0.3)  # the second is waiting for the lock now
    assert order == ["first in"]
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]


@pytest.mark.django_db(transaction=True)
def test_other_names_do_not_wait_and_the_same_thread_may_nest() -> None:
    entered: list[str] = []
    with exclusive("test-lock"):
        with exclusive("test-lock"):  # re-entrant: would hang forever otherwise
            entered.append("nested")

        def other_name() -> None:
            with exclusive("another-lock"):
                entered.append("other")

        other = _in_thread(other_name)
        other.join(5)
        assert not other.is_alive()

        def same_name() -> None:
            with exclusive("test-lock"):
                entered.append("same name")

        waiting = _in_thread(same_name)
        waiting.join(0.3)
        assert waiting.is_alive()  # still waiting: the lock is held by this thread
    waiting.join(10)
    assert entered == ["nested", "other", "same name"]
