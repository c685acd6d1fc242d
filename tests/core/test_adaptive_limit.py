"""The direct runs' adaptive limit: halved once per round of push-backs, raised by one after a
round of answers, every new call paused while a Retry-After runs."""

from __future__ import annotations

import threading

import pytest

from batchdash.direct.adaptive_limit import AdaptiveLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def take(limit: AdaptiveLimit, calls: int) -> list[int]:
    never = threading.Event()
    tickets = [limit.acquire(never) for _ in range(calls)]
    assert None not in tickets
    return [ticket for ticket in tickets if ticket is not None]


def test_push_backs_halve_the_limit_once_per_round_and_answers_raise_it_again() -> None:
    limit = AdaptiveLimit(8, clock=Clock())
    first, second, *_rest = take(limit, 8)
    limit.push_back(first, None)
    assert limit.limit == 4
    limit.push_back(second, None)  # sent before the cut: the same round, no second cut
    assert (limit.limit, limit.cuts, limit.lowest) == (4, 1, 4)
    for _ in range(6):
        limit.release(answered=True)
    assert limit.in_flight == 0
    assert limit.limit == 5  # four answers in a row at 4: one more
    [late] = take(limit, 1)
    limit.push_back(late, None)  # sent after the cut: the server still pushes back
    assert (limit.limit, limit.cuts, limit.lowest) == (2, 2, 2)
    for _ in range(2 + 3 + 4 + 5 + 6 + 7 + 10):
        take(limit, 1)
        limit.release(answered=True)
    assert limit.limit == 8  # back up to the ceiling, never above


def test_a_retry_after_pauses_every_new_call_until_it_has_passed() -> None:
    clock = Clock()
    limit = AdaptiveLimit(4, clock=clock)
    [ticket] = take(limit, 1)
    limit.push_back(ticket, 30.0)
    stopped = threading.Event()
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(limit.acquire(stopped)))
    waiter.start()
    waiter.join(1.0)
    assert waiter.is_alive() and got == []  # paused: no slot is handed out
    clock.now += 30.0
    limit.wake()
    waiter.join(5.0)
    assert got and got[0] is not None


def test_a_stopped_caller_gets_no_slot() -> None:
    limit = AdaptiveLimit(1, clock=Clock())
    take(limit, 1)
    stopped = threading.Event()
    stopped.set()
    assert limit.acquire(stopped) is None
    with pytest.raises(ValueError, match="at least 1"):
        AdaptiveLimit(0)
