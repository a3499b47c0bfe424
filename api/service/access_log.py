"""What the server logs about requests: method, route pattern, status and time; never the
path, the headers or the bytes of a request.

Invariants:
- paths carry learner ids (national teacher numbers) and headers carry tokens, so neither
  is ever written to a log line; a method outside HTTP's usual ones is logged as ``OTHER``
  (a method is any token the client chooses);
- a request the HTTP parser refuses is logged as one line naming the parser's error class:
  aiohttp's own record of it quotes the first bytes of the request (an ``Authorization``
  header, a teacher number in the path) in its message and traceback, so that record is
  rewritten before any handler sees it;
- the access logger reads the route from the request's own storage (``ROUTE``), which the
  outermost middleware sets; a request that never reached routing (a malformed one) has
  none and is logged as ``(no route)``.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

#: The route pattern of a request that was routed (set by the outermost middleware).
ROUTE: Final = web.RequestKey("route_pattern", str)
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_of(request: web.BaseRequest) -> str:
    return request.method if request.method in _METHODS else "OTHER"


class RouteAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = request.get(ROUTE, "(no route)")
        self.logger.info("%s %s %s %.1fms", method_of(request), route, response.status, time * 1000)


class MalformedRequestFilter(logging.Filter):
    """Rewrites aiohttp's record of a refused request: its class only, no message, no
    traceback, no client address (aiohttp logs ``Error handling request from <ip>`` with the
    exception, whose text holds the request's first bytes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.args or record.exc_text:
            error = record.exc_info[1] if record.exc_info else None
            record.msg = "HTTP server: a request failed or was refused as malformed: %s (%s); its bytes are not logged"
            record.args = (
                type(error).__name__ if error is not None else "no exception",
                getattr(error, "code", None) or getattr(error, "status", None) or "-",
            )
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def install_log_filters() -> None:
    """Idempotent: every server built in this process shares the loggers."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestFilter) for f in server.filters):
        server.addFilter(MalformedRequestFilter())
