"""The registry's database: its engine, upgraded on opening, and short transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from batchdash.registry.engine import WRITE_OPTION, make_engine
from batchdash.registry.migrations import upgrade


def utc_now() -> datetime:
    """The registry's default clock."""
    return datetime.now(UTC)


class RegistryDatabase:
    """One database, opened once; every read or write is one short transaction."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        """Open (and create or upgrade) the registry at `url`; raises RegistryError."""
        self._engine = make_engine(url)
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        try:
            #: Schema version of the database, after any upgrade.
            self.schema_version = upgrade(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """The backend: "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer) as session, session.begin():
            yield session
