"""JSON log lines with the request id, and redaction of personal data and secrets.

Redaction is the last line of defence: code should log masked values already, but an ID number,
a phone number or a token that slips into a message or an exception is masked here before output.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_REDACTIONS = [
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "[token]"),  # JWTs
    (re.compile(r"(?i)(bearer\s+)[\w\-.~+/=]+"), r"\1[token]"),
    (re.compile(r"(?i)(refresh_token|access_token|session_key|secret|code|auth_code|sign)"
                r"(\W{1,3})[\w\-.~+/=]{6,}"), r"\1\2[redacted]"),
    (re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])"), r"\1********\2"),  # ID numbers
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),  # mobile numbers
]


# Most lines (an access line, a job summary) hold nothing to redact: one cheap search decides
# whether the five substitutions run at all.
_SUSPECT = re.compile(r"\d{7}|eyJ|[Bb]earer|token|secret|session_key|code|sign")


def redact(text: str) -> str:
    if not _SUSPECT.search(text):
        return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "msg": redact(record.getMessage()),
        }
        for key in ("method", "path", "status", "duration_ms", "code"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    for name in ("", "govhub", "sanic.root", "sanic.error", "sanic.server", "tortoise"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level if name != "tortoise" else "WARNING")
