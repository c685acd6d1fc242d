"""Which webhook addresses may be notified: a URL an analyst types makes this server send a
request wherever it points, so it is checked before it is saved and again before each send.

- Only http and https.
- With sign-in on (a shared server), a typed URL is "guarded": when the operator lists hosts in
  BATCHDASH_NOTIFY_ALLOW (comma-separated host names, `*.example.com` for a domain's hosts),
  only those; without the list, only hosts whose every address is public (not loopback,
  private, link-local, shared or reserved): the server's own network stays out of reach.
- With sign-in off (an analyst's own machine) any http(s) URL, as the analyst could reach it
  anyway; the operator's own BATCHDASH_NOTIFY_URLS are never checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from batchdash.api.destinations import parse_allowed
from batchdash.i18n import Message, _l

#: The operator's list of webhook hosts analysts may type on a server with sign-in.
NOTIFY_ALLOW = "BATCHDASH_NOTIFY_ALLOW"


def shown(url: str) -> str:
    """The URL as it may be shown: scheme and host only (a webhook's path carries its token)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "?"
    # Unprintable characters (a NUL among them, which PostgreSQL's text refuses) become "?".
    host = "".join(c if c.isprintable() else "?" for c in parts.hostname or "?")
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


def url_problem(url: str, *, guarded: bool, environ: Mapping[str, str]) -> Message | None:
    """Why `url` may not be notified, or None when it may."""
    try:
        parts = urlsplit(url.strip())
        _port = parts.port
    except ValueError:
        return _l(
            "This address cannot be read (a port that is not a number, or a bracket left "
            "open); check it for a typing mistake."
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return _l(
            "Only web addresses starting with http:// or https:// can be notified; paste the "
            "webhook URL the service gave you."
        )
    if not guarded:
        return None
    allowed, _unreadable = parse_allowed(environ.get(NOTIFY_ALLOW))
    if allowed:
        if any(address.admits(url.strip()) for address in allowed):
            return None
        return _l(
            "{host} is not among the hosts this server may notify ({hosts}); ask the operator to "
            "add it to {setting}.",
            host=parts.hostname,
            hosts=", ".join(address.text for address in allowed),
            setting=NOTIFY_ALLOW,
        )
    return _private_problem(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def _private_problem(host: str, port: int) -> Message | None:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return _l("{host} could not be found; check the address.", host=host)
    for *_rest, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            return _l(
                "{host} is on this server's own network ({ip}), which analysts may not notify; "
                "ask the operator to list the host in {setting} if it is meant to be.",
                host=host,
                ip=str(ip),
                setting=NOTIFY_ALLOW,
            )
    return None
