"""Settings an analyst saves per scope: webhook addresses, token limits, budgets.

They live in the registry, not in the session, because a watcher with no page open must act on
the same values; the values are JSON (a text, a number, a list or a mapping).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from batchdash.registry.database import RegistryDatabase
from batchdash.registry.models import PreferenceModel


class Preferences(RegistryDatabase):
    """Saved settings, one value per scope and name."""

    def preference(self, scope: str, name: str, default: Any = None) -> Any:
        """The value saved under `name` for `scope`, or `default`."""
        with self._read() as session:
            model = session.get(PreferenceModel, (scope, name))
            return default if model is None else model.value

    def preferences_named(self, name: str) -> dict[str, Any]:
        """Every scope's value saved under `name` (a watcher serves them all)."""
        statement = select(PreferenceModel.scope, PreferenceModel.value).where(
            PreferenceModel.name == name
        )
        with self._read() as session:
            return {scope: value for scope, value in session.execute(statement)}

    def set_preference(self, scope: str, name: str, value: Any) -> None:
        """Save `value` under `name` for `scope`; None removes it."""
        with self._write() as session:
            model = session.get(PreferenceModel, (scope, name))
            if value is None:
                if model is not None:
                    session.execute(
                        delete(PreferenceModel).where(
                            PreferenceModel.scope == scope, PreferenceModel.name == name
                        )
                    )
                return
            if model is None:
                session.add(
                    PreferenceModel(scope=scope, name=name, value=value, updated_at=self._clock())
                )
            else:
                model.value = value
                model.updated_at = self._clock()
