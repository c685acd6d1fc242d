"""E-mail through the operator's SMTP server, named by one URL in BATCHDASH_SMTP_URL:

    smtp://[user[:password]@]host[:port]?from=batchdash@example.com[&to=a@example.com,b@example.com]
    smtps://...    TLS from the first byte (port 465 unless given)

`smtp://` uses port 587 unless given and switches to TLS (STARTTLS) when the server offers it;
`from` is required, `to` lists addresses that get every notification (each analyst adds their
own in Settings). User and password are percent-encoded like any URL's. The password is used to
log in and nowhere else: `described` and every error leave it out.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from batchdash.errors import InputError
from batchdash.i18n import Message, _l

SMTP_URL = "BATCHDASH_SMTP_URL"
#: Seconds for the connection and each reply.
SMTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes out, as BATCHDASH_SMTP_URL says."""

    host: str
    port: int
    #: TLS from the start (smtps://); else STARTTLS when offered.
    tls: bool
    sender: str
    #: Addresses that get every notification.
    recipients: tuple[str, ...] = ()
    user: str = ""
    password: str = field(default="", repr=False)

    def described(self) -> str:
        """The server as it may be shown: no password."""
        who = f"{self.user}@" if self.user else ""
        return f"{'smtps' if self.tls else 'smtp'}://{who}{self.host}:{self.port}"


def is_address(text: str) -> bool:
    """Whether `text` is one plain e-mail address (name@domain, nothing around it)."""
    text = text.strip()
    name, address = parseaddr(text)
    local, _at, domain = address.rpartition("@")
    return (
        not name
        and address == text
        and bool(local)
        and "." in domain
        and not any(c in text for c in " ,;<>")
    )


def read_smtp_url(url: str | None) -> SmtpServer | None:
    """The server BATCHDASH_SMTP_URL names; None when unset; raises InputError when unreadable."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
        scheme = ""
    query = parse_qs(parts.query)
    sender = (query.get("from") or [""])[0].strip()
    recipients = tuple(
        address.strip()
        for value in query.get("to", [])
        for address in value.split(",")
        if address.strip()
    )
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InputError(
            _smtp_problem(_l("it must start with smtp:// or smtps:// and name a host"))
        )
    if not is_address(sender):
        raise InputError(_smtp_problem(_l("it needs ?from=an address the mail is sent from")))
    bad = [address for address in recipients if not is_address(address)]
    if bad:
        raise InputError(
            _smtp_problem(_l("{addresses} is not an e-mail address", addresses=", ".join(bad)))
        )
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if scheme == "smtps" else 587),
        tls=scheme == "smtps",
        sender=sender,
        recipients=recipients,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _smtp_problem(reason: Message) -> Message:
    return _l(
        "{setting} cannot be read: {reason}. Write it like "
        "smtp://user:password@mail.example.com:587?from=batchdash@example.com.",
        setting=SMTP_URL,
        reason=reason,
    )


def send_mail(server: SmtpServer, recipients: Sequence[str], subject: str, text: str) -> None:
    """Send one plain-text mail; raises OSError or smtplib.SMTPException."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.tls:
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    with client:
        client.ehlo()
        if not server.tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if server.user:
            client.login(server.user, server.password)
        client.send_message(message, server.sender, list(recipients))
