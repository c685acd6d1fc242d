"""A local SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it is sent.

With a password it takes a login without TLS and warns so on each connection: a test using it
marks that warning expected (`LOGIN_WITHOUT_TLS`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

#: The warning aiosmtpd gives a login without TLS, as pytest's filterwarnings names it.
LOGIN_WITHOUT_TLS = "ignore:Requiring AUTH while not requiring TLS"


@dataclass
class Mailbox:
    """Where the server listens and what it received."""

    port: int = 0
    #: (envelope recipients, parsed message) of each mail.
    mails: list[tuple[list[str], Message]] = field(default_factory=list)
    #: The user names that logged in.
    logins: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mail_server(*, password: str | None = None) -> Iterator[Mailbox]:
    """Serve until the block ends; with `password`, a login is required (any user name)."""
    box = Mailbox(port=_free_port())

    class Handler:
        async def handle_DATA(
            self, server: SmtpServer, session: Session, envelope: Envelope
        ) -> str:
            content = envelope.content if isinstance(envelope.content, bytes) else b""
            box.mails.append((list(envelope.rcpt_tos), message_from_bytes(content)))
            return "250 OK"

    def authenticate(
        server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and data.password.decode() == password:
            box.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    options: dict[str, Any] = {}
    if password is not None:
        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port, **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
