"""Email (password resets): over SMTP when ``STRIDELAB_SMTP_URL`` is set, else written as
.eml files to ``<data dir>/outbox/`` for whoever runs the embedded default to deliver or read.
Message bodies never go to the logs: they hold one-time links."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from backend.core.config import Settings
from backend.core.time import utcnow

logger = logging.getLogger(__name__)


def outbox_dir(settings: Settings) -> Path:
    return settings.resolved_data_dir / "outbox"


def send(settings: Settings, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.mail_from, to, subject
    msg["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(body)
    if settings.smtp_url:
        url = urlsplit(settings.smtp_url)
        cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with cls(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps"
                                                           else 25), timeout=20) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)
        logger.info("email %r sent to one recipient", subject)
        return
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(msg))
    path.chmod(0o600)
    logger.info("email %r written to the outbox (%s)", subject, path.name)
