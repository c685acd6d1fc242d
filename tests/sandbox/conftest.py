"""Fixtures: the sandbox app with the real openai SDK, in-process and over a socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.server import running_sandbox
from tests.sandbox.kit import sdk_client

# Starlette 1.10's TestClient is an httpx2.Client, which the openai SDK (3.51, itself on
# httpx2) takes as its `http_client`: the app runs in-process, no socket, lifespan included.
IN_PROCESS_BASE_URL = "http://sandbox.test/v1"

MakeClient = Callable[..., OpenAI]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "sandbox"


@pytest.fixture
def make_client(data_dir: Path) -> Iterator[MakeClient]:
    """`make_client(**create_app options)`: an SDK client on a running in-process sandbox."""
    with ExitStack() as stack:

        def make(directory: Path | None = None, **options: Any) -> OpenAI:
            app = create_app(directory or data_dir, **options)
            test_client = stack.enter_context(TestClient(app, base_url="http://sandbox.test"))
            return sdk_client(test_client, IN_PROCESS_BASE_URL)

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> OpenAI:
    """An SDK client on an in-process sandbox running at full speed."""
    return make_client()


@pytest.fixture(params=["in-process", "socket"])
def any_client(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[OpenAI]:
    """An SDK client on a sandbox, in-process and then over a real 127.0.0.1 socket."""
    if request.param == "in-process":
        with TestClient(create_app(data_dir), base_url="http://sandbox.test") as test_client:
            yield sdk_client(test_client, IN_PROCESS_BASE_URL)
    else:
        with running_sandbox(data_dir) as base_url, httpx2.Client(timeout=30) as http_client:
            yield sdk_client(http_client, base_url)
