"""The page fixtures of tests/app (the whole app on a private data directory, no key from the
environment, caches cleared after each test), for the security tests."""

from tests.app.conftest import _no_configured_api, app, data_dir, make_app

__all__ = ["_no_configured_api", "app", "data_dir", "make_app"]
