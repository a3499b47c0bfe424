"""The access log: method, route pattern, status and time; never the path or headers.

Invariant: paths carry learner ids (national teacher numbers) and headers carry tokens,
so neither is ever written to a log line.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class RouteAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = "(no route)"
        if isinstance(request, web.Request):
            resource = request.match_info.route.resource
            if resource is not None:
                route = resource.canonical
        self.logger.info("%s %s %s %.1fms", request.method, route, response.status, time * 1000)
