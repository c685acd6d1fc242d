import threading

import pytest

from batchdash.preflight import preload, tokens
from batchdash.providers.profiles import OPENAI
from batchdash.recipe import Recipe


def test_preload_loads_the_table_the_plan_counts_with() -> None:
    tokens.get_encoding.cache_clear()
    preload.preload_in_background(Recipe(model="gpt-4"), OPENAI).join()
    assert tokens.get_encoding.cache_info().currsize == 1
    assert tokens.counting_for("gpt-4", OPENAI.tokens)[0] is tokens.get_encoding("cl100k_base")


def test_a_failed_preload_leaves_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("The packaged o200k_base token table does not match tiktoken's hash.")

    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(tokens, "counting_for", broken)
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    preload.preload_in_background(Recipe(), None).join()
    assert escaped == []  # what would be printed as a traceback
