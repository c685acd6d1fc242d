"""Configuration read from the environment or from Streamlit's secrets (contract 3).

`read_settings` is pure: it takes the mappings to read, so the CLI passes `os.environ` and the
pages pass `st.secrets` first and `os.environ` second. It never creates a directory; the
registry does that when it opens its SQLite file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

API_KEY = "OPENAI_API_KEY"
BASE_URL = "OPENAI_BASE_URL"
DB_URL = "BATCHDASH_DB_URL"
DATA_DIR = "BATCHDASH_DATA_DIR"
#: Comma-separated base URLs users may choose (batchdash.api.destinations reads the list).
ALLOWED_BASE_URLS = "BATCHDASH_ALLOWED_BASE_URLS"
#: The provider profile of the configured API (batchdash.providers), when its URL does not say.
PROVIDER = "BATCHDASH_PROVIDER"
#: The base URL of a sandbox already running elsewhere (e.g. `http://127.0.0.1:8765/v1`), which
#: the app then uses instead of starting its own: several app servers on one registry must share
#: one sandbox (one may run per data directory), and a watcher can then move its jobs too.
SANDBOX_URL = "BATCHDASH_SANDBOX_URL"

#: The base URL the openai SDK uses when none is given; a key means the same account with or
#: without it spelled out, so the fingerprint treats both alike.
DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: Seconds between two rounds of `cli.py watch` unless told otherwise.
WATCH_EVERY = 30.0

#: File name of the default SQLite registry inside the data directory.
REGISTRY_FILE = "registry.sqlite3"

#: Hex digits kept of the SHA-256: enough to keep analysts apart, far too few to find a key by.
FINGERPRINT_LENGTH = 16


@dataclass(frozen=True)
class Settings:
    """Where Batchdash keeps its data and which API it talks to."""

    #: Directory for the SQLite registry, downloads and sandbox data.
    data_dir: Path
    #: SQLAlchemy URL of the job registry.
    db_url: str
    #: The OpenAI API key; None means Sandbox mode. Kept out of `repr` so it never reaches a log.
    api_key: str | None = field(default=None, repr=False)
    #: Another OpenAI-compatible endpoint; None means OpenAI itself.
    base_url: str | None = None
    #: The operator's list of base URLs users may choose (None: see batchdash.api.destinations).
    allowed_base_urls: str | None = None
    #: BATCHDASH_PROVIDER as written (checked by batchdash.providers.choice); None: recognised
    #: from the base URL.
    provider: str | None = None


def read_settings(*sources: Mapping[str, object]) -> Settings:
    """Settings from the given mappings; the first one holding a non-empty text value wins."""

    def value(name: str) -> str | None:
        for source in sources:
            found = source.get(name)
            if isinstance(found, str) and found.strip():
                return found.strip()
        return None

    data_dir_text = value(DATA_DIR)
    data_dir = (
        Path(data_dir_text).expanduser()
        if data_dir_text
        else Path(platformdirs.user_data_dir("batchdash", appauthor=False))
    )
    return Settings(
        data_dir=data_dir,
        db_url=value(DB_URL) or default_db_url(data_dir),
        api_key=value(API_KEY),
        base_url=value(BASE_URL),
        allowed_base_urls=value(ALLOWED_BASE_URLS),
        provider=value(PROVIDER),
    )


def redacted_db_url(url: str) -> str:
    """The registry URL as it may be shown: the password hidden (or, when SQLAlchemy cannot
    read the URL, everything before the host left out)."""
    # SQLAlchemy is imported here, not with the settings every page reads: it takes a large
    # part of a second to import, and only Settings shows the URL.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def default_db_url(data_dir: Path) -> str:
    """The SQLAlchemy URL of the SQLite registry file inside `data_dir`."""
    return "sqlite:///" + (data_dir / REGISTRY_FILE).as_posix()


def key_fingerprint(api_key: str, base_url: str | None) -> str:
    """A short one-way tag of the key and the endpoint it is used with; the key itself is never stored."""
    endpoint = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    digest = hashlib.sha256(f"{endpoint}\n{api_key.strip()}".encode()).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def owner_scope(api_key: str, base_url: str | None, user: str | None = None) -> str:
    """The registry scope of a job: the key fingerprint, plus the signed-in user when login is on."""
    fingerprint = key_fingerprint(api_key, base_url)
    return f"{fingerprint}/{user}" if user else fingerprint
