"""Nothing personal or secret reaches the server's log, whatever bytes a client sends.

A real ``creditbank serve`` process at log level INFO gets malformed requests (a bad header,
a bad Content-Length, broken chunked framing, a non-HTTP first line, an invented method),
each carrying a full token and a teacher number; then its log is read. Neither may appear,
and no malformed request may make the access logger fail.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.database import Database
from tests.e2e.test_faults import Server, server_process

TOKEN = "cbk_" + "S3cr3tTokenValue" * 3
NUMBER = "220106201500009"
MALFORMED = [
    f"GET /v1/learners/{NUMBER}/balance HTTP/1.1\r\nHost: bank\r\nAuthorization: Bearer {TOKEN}\r\n"
    "Bad Header\x01: x\r\n\r\n",
    f"POST /v1/learners/{NUMBER}/erasure HTTP/1.1\r\nHost: bank\r\nAuthorization: Bearer {TOKEN}\r\n"
    "Content-Length: 12abc\r\n\r\n",
    f"POST /v1/completions HTTP/1.1\r\nHost: bank\r\nAuthorization: Bearer {TOKEN}\r\n"
    f"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{NUMBER}\r\n",
    f"\x16\x03\x01{NUMBER} {TOKEN}\r\n\r\n",
    f"GET /v1/learners/{NUMBER} HTTP/1.1 {TOKEN}\r\nHost: bank\r\n\r\n",
    f"X{NUMBER} /v1/learners/{NUMBER} HTTP/1.1\r\nHost: bank\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
]


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    with server_process(database, tmp_path, CREDITBANK_LOG_LEVEL="INFO") as running:  # access log too
        yield running


def _send(port: int, raw: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(raw.encode("utf-8", "surrogateescape"))
        answer = b""
        try:
            while chunk := s.recv(65536):  # a refused request's connection is closed after the answer
                answer += chunk
        except TimeoutError:
            pass  # a well-formed request keeps its connection open
    return answer


def test_malformed_requests_leave_no_token_or_number_in_the_log(server: Server) -> None:
    server.start()
    for raw in MALFORMED:
        answer = _send(server.port, raw)
        assert answer[:9] in (b"HTTP/1.0 ", b"HTTP/1.1 ") and answer[9:10] == b"4", (raw, answer[:200])
    assert _send(server.port, "GET /healthz HTTP/1.1\r\nHost: bank\r\n\r\n").startswith(b"HTTP/1.1 200")
    time.sleep(0.5)  # the log lines of the last requests are written after their answers
    log = server.log.read_text("utf-8", "replace")
    assert TOKEN not in log and "S3cr3tTokenValue" not in log, log[-3000:]
    assert NUMBER not in log, log[-3000:]
    assert "AssertionError" not in log and "Traceback" not in log, log[-3000:]
    assert "was refused as malformed: BadHttpMessage" in log, log[-3000:]
    assert "GET /healthz 200" in log
