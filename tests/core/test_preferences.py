"""Settings saved per scope in the registry, on SQLite and PostgreSQL (fixture `registry`)."""

from __future__ import annotations

from batchdash.registry.store import Registry


def test_a_saved_value_is_read_back_per_scope_and_replaced(registry: Registry) -> None:
    assert registry.preference("a", "budget") is None
    assert registry.preference("a", "budget", 0) == 0
    registry.set_preference("a", "budget", {"month_usd": 25.0})
    registry.set_preference("b", "budget", {"month_usd": 5})
    assert registry.preference("a", "budget") == {"month_usd": 25.0}
    registry.set_preference("a", "budget", {"month_usd": 30})
    assert registry.preference("a", "budget") == {"month_usd": 30}
    assert registry.preferences_named("budget") == {"a": {"month_usd": 30}, "b": {"month_usd": 5}}


def test_none_removes_a_value(registry: Registry) -> None:
    registry.set_preference("a", "webhooks", ["https://example.test/hook"])
    registry.set_preference("a", "webhooks", None)
    registry.set_preference("a", "never-set", None)
    assert registry.preference("a", "webhooks") is None
    assert registry.preferences_named("webhooks") == {}
