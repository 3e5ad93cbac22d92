"""Logging that keeps secrets out: the calendar feed's token is in its URL (calendar apps
cannot send a header), and uvicorn's access log writes URLs; this filter masks it wherever a
log line carries it."""

from __future__ import annotations

import logging
import re

SECRET_IN_PATH = re.compile(r"(/calendar/)[A-Za-z0-9_\-]{8,}(\.ics)")
MASK = r"\1***\2"


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(SECRET_IN_PATH.sub(MASK, a) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple)
                                          else (record.args,)))
        if isinstance(record.msg, str):
            record.msg = SECRET_IN_PATH.sub(MASK, record.msg)
        return True


def install(*logger_names: str) -> None:
    """Add the filter to these loggers (idempotent); uvicorn's by default."""
    for name in logger_names or ("uvicorn.access", "uvicorn.error", ""):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
