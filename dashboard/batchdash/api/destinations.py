"""Where this server may send requests, and which key goes with each address.

A key configured by the operator (OPENAI_API_KEY or secrets.toml) belongs to the base URL
configured beside it: a user who picks another address must bring a key of their own, or the
configured key would be handed to whatever server the user named. With sign-in on (a shared
server), or whenever the operator lists them in BATCHDASH_ALLOWED_BASE_URLS, only approved
addresses may be chosen at all, since each request is one the server makes on the user's word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from batchdash.i18n import Message, _l
from batchdash.settings import ALLOWED_BASE_URLS, DEFAULT_BASE_URL

KeySource = Literal["session", "configured"]


def normalized(url: str | None) -> str:
    """A base URL compared as the SDK uses it: None is OpenAI's, no trailing slash."""
    return (url or DEFAULT_BASE_URL).strip().rstrip("/")


def same_destination(first: str | None, second: str | None) -> bool:
    """Whether two base URLs name the same server and path (scheme and host case ignored)."""
    one, two = urlsplit(normalized(first)), urlsplit(normalized(second))
    return (
        one.scheme.lower() == two.scheme.lower()
        and one.netloc.lower() == two.netloc.lower()
        and one.path.rstrip("/") == two.path.rstrip("/")
    )


@dataclass(frozen=True)
class AllowedAddress:
    """One entry of the operator's list: a host (or `*.domain`), maybe a scheme, port, path."""

    #: The entry as the operator wrote it, for messages.
    text: str
    #: Lower-case host name; `*.example.com` admits every subdomain of example.com.
    host: str
    #: "http" or "https", or None for either.
    scheme: str | None = None
    #: The port, or None for the scheme's default.
    port: int | None = None
    #: A path prefix the base URL must start with ("" for any).
    path: str = ""

    def admits(self, url: str) -> bool:
        """Whether `url` is this address (or below its path)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self.host.startswith("*."):
            if not host.endswith(self.host[1:]):
                return False
        elif host != self.host:
            return False
        if self.scheme and parts.scheme.lower() != self.scheme:
            return False
        try:
            port = parts.port
        except ValueError:
            return False
        if self.port is not None and (port or _default_port(parts.scheme)) != self.port:
            return False
        path = parts.path.rstrip("/")
        return not self.path or path == self.path or path.startswith(self.path + "/")


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme.lower())


def parse_allowed(text: str | None) -> tuple[tuple[AllowedAddress, ...], tuple[str, ...]]:
    """The operator's list as addresses, and the entries that could not be read."""
    addresses: list[AllowedAddress] = []
    unreadable: list[str] = []
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        address = _address(entry)
        if address is None:
            unreadable.append(entry)
        else:
            addresses.append(address)
    return tuple(addresses), tuple(unreadable)


def _address(entry: str) -> AllowedAddress | None:
    has_scheme = "://" in entry
    parts = urlsplit(entry if has_scheme else f"//{entry}")
    if has_scheme and parts.scheme.lower() not in ("http", "https"):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host or "*" in host.removeprefix("*.") or parts.query or parts.fragment:
        return None
    return AllowedAddress(
        text=entry,
        host=host,
        scheme=parts.scheme.lower() if has_scheme else None,
        port=port,
        path=parts.path.rstrip("/"),
    )


@dataclass(frozen=True)
class AddressPolicy:
    """Which base URLs may be chosen in this deployment."""

    #: The approved addresses; None when any address may be chosen.
    allowed: tuple[AllowedAddress, ...] | None
    #: Entries of the operator's list that could not be read (told in Settings).
    unreadable: tuple[str, ...] = ()

    def admits(self, url: str | None) -> bool:
        """Whether requests may go to `url`."""
        if self.allowed is None:
            return True
        return any(address.admits(normalized(url)) for address in self.allowed)

    def described(self) -> str | Message:
        """The approved addresses as one line for messages."""
        if self.allowed is None:
            return _l("any address")
        return ", ".join(address.text for address in self.allowed) or _l("none")


def address_policy(
    listed: str | None, configured_url: str | None, *, sign_in: bool
) -> AddressPolicy:
    """The policy of this deployment.

    The operator's list wins when there is one. Without it, a server with sign-in (shared by a
    team) admits only the configured base URL, and an open one (an analyst's own machine)
    admits any address.
    """
    addresses, unreadable = parse_allowed(listed)
    if addresses or unreadable:
        return AddressPolicy(addresses, unreadable)
    if sign_in:
        own = _address(normalized(configured_url))
        return AddressPolicy((own,) if own else ())
    return AddressPolicy(None)


@dataclass(frozen=True)
class Route:
    """Where this session's requests go and with which key."""

    #: The base URL requests are sent to (None: OpenAI's).
    base_url: str | None
    #: The key sent there; held in memory only.
    api_key: str = field(repr=False)
    #: Whether the key is the one typed in this session or the configured one.
    key_source: KeySource
    #: Why the address the user chose is not used (then nothing new may be sent), else None.
    refusal: str | Message | None = None


def route(
    chosen_url: str | None,
    entered_key: str,
    configured_key: str | None,
    configured_url: str | None,
    policy: AddressPolicy,
    *,
    chosen_problem: str | Message | None = None,
) -> Route | None:
    """The route for a session, or None when there is no key at all (Sandbox mode).

    `chosen_url` is the base URL picked in Settings; `chosen_problem` says why none could be
    made of what was typed (then the configured address stays in use). A refused choice falls
    back to the configured address so that jobs already sent can still be followed there, and
    carries the reason, which the pages show where something new would be sent.
    """
    entered = entered_key.strip()
    if not entered and not configured_key:
        return None
    key = entered or configured_key or ""
    source: KeySource = "session" if entered else "configured"
    if chosen_problem:
        return Route(configured_url, key, source, chosen_problem)
    if not policy.admits(chosen_url):
        return Route(
            configured_url,
            key,
            source,
            _l(
                "This server may only send requests to the addresses its operator approved "
                "({policy}); {url} is not one of them. Pick another API in Settings, or ask the "
                "operator to add it to {variable}.",
                policy=policy.described(),
                url=normalized(chosen_url),
                variable=ALLOWED_BASE_URLS,
            ),
        )
    if source == "session" or same_destination(chosen_url, configured_url):
        return Route(chosen_url, key, source)
    return Route(
        configured_url,
        key,
        source,
        _l(
            "The API key configured on this server is only sent to {configured}. To use "
            "{chosen}, enter your own API key for it in Settings; to use the configured key, "
            "pick the configured API again.",
            configured=normalized(configured_url),
            chosen=normalized(chosen_url),
        ),
    )
