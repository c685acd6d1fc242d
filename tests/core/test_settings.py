import hashlib
from pathlib import Path

import platformdirs

from batchdash.settings import (
    DEFAULT_BASE_URL,
    key_fingerprint,
    owner_scope,
    read_settings,
)

KEY = "sk-test-0123456789abcdefghijklmnop"


def test_defaults_use_the_user_data_directory() -> None:
    settings = read_settings({})
    data_dir = Path(platformdirs.user_data_dir("batchdash", appauthor=False))
    assert settings.data_dir == data_dir
    assert settings.db_url == f"sqlite:///{data_dir.as_posix()}/registry.sqlite3"
    assert settings.api_key is None
    assert settings.base_url is None


def test_environment_values(tmp_path: Path) -> None:
    settings = read_settings(
        {
            "BATCHDASH_DATA_DIR": str(tmp_path),
            "OPENAI_API_KEY": f"  {KEY}\n",
            "OPENAI_BASE_URL": "http://127.0.0.1:8765/v1",
        }
    )
    assert settings.data_dir == tmp_path
    assert settings.db_url == f"sqlite:///{tmp_path.as_posix()}/registry.sqlite3"
    assert settings.api_key == KEY
    assert settings.base_url == "http://127.0.0.1:8765/v1"


def test_db_url_overrides_the_data_directory(tmp_path: Path) -> None:
    url = "postgresql://analyst@db.internal/batchdash"
    settings = read_settings({"BATCHDASH_DATA_DIR": str(tmp_path), "BATCHDASH_DB_URL": url})
    assert settings.db_url == url
    assert settings.data_dir == tmp_path


def test_first_source_with_a_value_wins() -> None:
    secrets = {"OPENAI_API_KEY": "from-secrets", "OPENAI_BASE_URL": "   ", "nested": {"a": 1}}
    environ = {"OPENAI_API_KEY": "from-env", "OPENAI_BASE_URL": "http://env/v1"}
    settings = read_settings(secrets, environ)
    assert settings.api_key == "from-secrets"
    assert settings.base_url == "http://env/v1"  # blank in the first source counts as unset


def test_values_that_are_not_text_are_ignored() -> None:
    assert read_settings({"OPENAI_API_KEY": {"key": KEY}}).api_key is None


def test_home_directory_is_expanded() -> None:
    settings = read_settings({"BATCHDASH_DATA_DIR": "~/batchdash-data"})
    assert settings.data_dir == Path.home() / "batchdash-data"


def test_repr_hides_the_key() -> None:
    settings = read_settings({"OPENAI_API_KEY": KEY})
    assert KEY not in repr(settings)
    assert KEY not in str(settings)


def test_fingerprint_is_a_short_sha256_prefix_of_endpoint_and_key() -> None:
    fingerprint = key_fingerprint(KEY, None)
    expected = hashlib.sha256(f"{DEFAULT_BASE_URL}\n{KEY}".encode()).hexdigest()
    assert len(fingerprint) == 16
    assert expected.startswith(fingerprint)
    assert KEY not in fingerprint


def test_fingerprint_tells_keys_and_endpoints_apart() -> None:
    fingerprints = {
        key_fingerprint(KEY, None),
        key_fingerprint(KEY + "x", None),
        key_fingerprint(KEY, "http://127.0.0.1:8765/v1"),
        key_fingerprint(KEY, "https://example.openai.azure.com/openai/v1/"),
    }
    assert len(fingerprints) == 4


def test_fingerprint_ignores_spelling_of_the_same_endpoint() -> None:
    assert key_fingerprint(KEY, None) == key_fingerprint(KEY, DEFAULT_BASE_URL)
    assert key_fingerprint(KEY, None) == key_fingerprint(f" {KEY} ", DEFAULT_BASE_URL + "/")


def test_owner_scope_adds_the_signed_in_user() -> None:
    fingerprint = key_fingerprint(KEY, None)
    assert owner_scope(KEY, None) == fingerprint
    assert owner_scope(KEY, None, "ana@example.org") == f"{fingerprint}/ana@example.org"
    assert owner_scope(KEY, None, "ana") != owner_scope(KEY, None, "ben")
