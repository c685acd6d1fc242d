"""Heavy work done once per input: remembered in the session, shared through `st.cache_data`.

A rerun that changes nothing a computation depends on finds its result in the session (no
hashing of big tables, no copy); a result computed earlier for the same input, in this session
or another, comes from `st.cache_data`. Setting `BATCHDASH_UI_CACHE=off` turns both off, so
every rerun recomputes; bench/bench_new_job.py uses it to measure what the caching saves.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar, cast

import streamlit as st

#: Environment variable that turns the page caches off when set to "off".
CACHE_SWITCH = "BATCHDASH_UI_CACHE"

_SLOT_PREFIX = "memo:"

P = ParamSpec("P")
R = TypeVar("R")


def caching_on() -> bool:
    """Whether the page caches are on (read at every call, so a benchmark can flip it)."""
    return os.environ.get(CACHE_SWITCH, "on").strip().lower() != "off"


def cached_data(*, max_entries: int, ttl: str = "1h") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`st.cache_data` that steps aside while the page caches are off.

    Arguments whose names start with `_` are not hashed: pass a cheap digest beside them.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        cached = st.cache_data(max_entries=max_entries, ttl=ttl, show_spinner=False)(func)

        @functools.wraps(func)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if caching_on():
                return cast(R, cached(*args, **kwargs))
            return func(*args, **kwargs)

        return call

    return decorate


def remembered(slot: str, key: Hashable, compute: Callable[[], R]) -> R:
    """The value last computed in `slot` of this session when `key` is unchanged, else `compute()`."""
    name = _SLOT_PREFIX + slot
    held: tuple[Any, Any] | None = st.session_state.get(name)
    if caching_on() and held is not None and held[0] == key:
        return cast(R, held[1])
    value = compute()
    st.session_state[name] = (key, value)
    return value
