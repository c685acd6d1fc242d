import threading
from collections.abc import Iterator

import pytest

from batchdash.results.parallel import map_in_order


def test_results_come_in_the_order_of_the_pieces_whatever_finishes_first() -> None:
    second_done = threading.Event()

    def work(piece: int) -> int:
        if piece == 0:
            assert second_done.wait(10)  # piece 0 finishes only after piece 1
        if piece == 1:
            second_done.set()
        return piece * 10

    assert list(map_in_order(work, range(6), threads=2)) == [0, 10, 20, 30, 40, 50]


def test_an_error_is_raised_where_its_result_would_have_come() -> None:
    def work(piece: int) -> int:
        if piece == 2:
            raise ValueError("piece 2")
        return piece

    results = map_in_order(work, range(10), threads=2)
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ValueError, match="piece 2"):
        next(results)


def test_only_a_few_pieces_are_taken_ahead_of_the_results() -> None:
    taken: list[int] = []

    def pieces() -> Iterator[int]:
        for piece in range(100):
            taken.append(piece)
            yield piece

    results = map_in_order(lambda piece: piece, pieces(), threads=2)
    assert next(results) == 0
    assert len(taken) <= 4  # two a thread
    assert list(results) == list(range(1, 100))


def test_one_thread_works_in_the_caller() -> None:
    caller = threading.get_ident()
    assert list(map_in_order(lambda _: threading.get_ident(), range(3), threads=1)) == [caller] * 3
