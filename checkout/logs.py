"""Log lines an on-call engineer can grep: the ids a line is about are always on it.

Two shapes: `json` (one object per line, for log shippers; production's default) and `text`.
Both carry the ids a record is about (`merchant_id`, `payment_id`, `attempt_id`, `refund_id`)
and never a secret: every bearer token (the buyer's checkout token, invitation and password-
reset links) is cut from every logged path and query, API keys and
signatures are never handed to a logger, and we never see card data at all.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

CONTEXT_KEYS = ("merchant_id", "payment_id", "attempt_id", "refund_id", "event_id")
# Bearer paths: whoever has the URL has the power. /c/<token> (and /status?…) is the buyer's
# page; /console/invite/<token> joins a merchant's team; /console/reset/<token> sets a
# password. The console's links also travel percent-encoded in a query (`?next=`).
_BEARER_PATHS = ("/c/", "/console/invite/", "/console/reset/")
_TOKEN_IN_PATH = re.compile(
    "(" + "|".join(re.escape(p) + "|" + re.escape(p.replace("/", "%2F")) for p in _BEARER_PATHS)
    + r")[^/?&%\s\"]+", re.IGNORECASE)


def redact(path: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1…", path)


class _AccessFields(logging.Filter):
    """uvicorn's access records: split into fields, with the buyer's token cut out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:
            client, method, path, _version, status = record.args
            record.args = (client, method, redact(str(path)), _version, status)
            record.http = {"method": method, "path": redact(str(path)), "status": status}
        return True


class ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k)]
        return f"{line} {' '.join(ids)}" if ids else line


class JsonFormatter(logging.Formatter):
    def __init__(self, instance: str) -> None:
        super().__init__()
        self._instance = instance

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self._instance,
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if hasattr(record, "http"):
            doc.update(record.http)
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO, *, as_json: bool = False, instance: str = "") -> None:
    # What our lines never show is not collected (the logging HOWTO's "Optimization"): the
    # caller's file and line, thread, process. A third of a line's cost; a payment logs ~11.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.addFilter(_AccessFields())
    handler.setFormatter(JsonFormatter(instance) if as_json else
                         ContextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # httpx logs every request URL at INFO; ours are logged where they matter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
