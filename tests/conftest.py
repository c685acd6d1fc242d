"""Fixtures shared by every test folder: the private PostgreSQL and a registry on each backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchdash.registry.store import Registry
from tests.postgres import Cluster, PostgresMissing, fresh_database, private_cluster


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Undo Streamlit's swap of `__main__` after each test.

    AppTest runs the page as `__main__` and leaves it in sys.modules; a later "spawn" child
    process would then re-run the app script instead of starting clean.
    """
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The test run's private PostgreSQL cluster, started on first use and stopped at the end."""
    try:
        with private_cluster() as cluster:
            yield cluster
    except PostgresMissing as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: Cluster) -> str:
    """SQLAlchemy URL of the cluster's `batchdash_test` database."""
    return postgres_cluster.url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'registry.sqlite3'}"
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    with fresh_database(cluster) as url:
        yield url


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    """A registry on each backend, closed afterwards."""
    opened = Registry(registry_url)
    yield opened
    opened.close()
