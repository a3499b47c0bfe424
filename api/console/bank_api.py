"""The console reads and writes through the bank's own HTTP API, as the signed-in token.

Invariants:
- every call goes over HTTP to the server that took the page's request (the address its
  socket was accepted on), with ``Authorization: Bearer`` of the session's token: the API's
  routes table, middleware and handlers authorise it exactly as they would a program, so a
  page can never show what the token could not read through the API, and a write decides on
  the ledger the way the API's write does;
- an answer is handed back as it came (status and JSON), never reinterpreted as allowed;
- JSON calls carry ``Accept-Language`` of the page's language, so a problem's title and
  detail come in the reader's words (the API's own Chinese); a download asks for nothing,
  so a spreadsheet's headers are what the path's own ``lang`` asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web

CLIENT: Final = web.AppKey("console_http", aiohttp.ClientSession)


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _base(request: web.Request) -> str:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not isinstance(sockname, tuple):
        raise web.HTTPServiceUnavailable(text="the console needs a TCP listener")
    host, port = sockname[0], sockname[1]
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - the address we listen on, not one we bind
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Api:
    """The API as one token (or none, for public reads) sees it."""

    def __init__(self, request: web.Request, token: str | None, language: str = "en") -> None:
        self._http = request.app[CLIENT]
        self._base = _base(request)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._json_headers = {**self._headers, "Accept-Language": language}

    async def get(self, path: str, **params: Any) -> Reply:
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        async with self._http.get(self._base + path, params=query, headers=self._json_headers) as r:
            return Reply(r.status, await _body(r))

    async def download(self, path: str, accept: str, **params: Any) -> tuple[int, bytes]:
        """The answer's bytes as ``accept`` asks (a spreadsheet the page hands on as it came)."""
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        headers = {**self._headers, "Accept": accept}
        async with self._http.get(self._base + path, params=query, headers=headers) as r:
            return r.status, await r.read()

    async def relay(self, request: web.Request, path: str, accept: str, **params: Any) -> Reply | web.StreamResponse:
        """The API's spreadsheet for ``accept``, streamed on to the page's reader as it comes
        (its type and file name kept): a district's sheet is never held whole here. A refusal
        is handed back as a ``Reply`` (JSON) for the page to show in the reader's words."""
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        headers = {**self._json_headers, "Accept": accept}
        async with self._http.get(self._base + path, params=query, headers=headers) as r:
            if r.status != 200:
                return Reply(r.status, await _body(r))
            response = web.StreamResponse(
                headers={name: r.headers[name] for name in _RELAYED if name in r.headers},
            )
            await response.prepare(request)
            async for chunk in r.content.iter_chunked(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response

    async def post(self, path: str, body: Any, **params: Any) -> Reply:
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self._http.post(self._base + path, json=body, params=query, headers=self._json_headers) as r:
            return Reply(r.status, await _body(r))


#: The headers of a relayed sheet the reader needs: what it is and what to call the file.
_RELAYED: Final = ("Content-Type", "Content-Disposition")


async def _body(response: aiohttp.ClientResponse) -> Any:
    if "json" in response.headers.get("Content-Type", ""):
        return await response.json(content_type=None)
    return await response.text()
