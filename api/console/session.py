"""The console's session: the signed-in token, sealed in an HttpOnly cookie; CSRF tokens.

Invariants:
- the cookie is AES-256-GCM ciphertext under a key only the bank holds
  (``console-session.key`` in the key folder, mode 0600, shared by every server process like
  the signing keys): its holder can neither read the bearer token inside nor change the role,
  scope or expiry beside it (any change fails authentication and the cookie is ignored);
- the raw token is never in a readable cookie, a page or a log; the server opens the cookie
  per request and calls the API with the token, so the token's revocation or expiry ends the
  console session on the very next request;
- a session lasts at most ``LIFETIME`` seconds from sign-in; sign-out clears the cookie;
- every form post carries a CSRF token equal (constant-time) to the one sealed in the
  session (or, before sign-in, in the short-lived anonymous cookie): a post without it is
  refused with 403 before anything else runs.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SESSION_COOKIE: Final = "cb_session"
ANONYMOUS_COOKIE: Final = "cb_anon"
LIFETIME: Final = 8 * 3600
ANONYMOUS_LIFETIME: Final = 2 * 3600
_KEY_FILE: Final = "console-session.key"
_AAD_SESSION: Final = b"creditbank console session v1"
_AAD_ANONYMOUS: Final = b"creditbank console anonymous v1"


@dataclass(frozen=True)
class Session:
    """Who is signed in: the token (to act as it), its role and scope, the CSRF token."""

    token: str
    role: str
    scope: dict[str, str | None]
    csrf: str
    issued: float


def load_key(folder: Path) -> bytes:
    """The session key, made once (exclusive create: two processes starting together agree)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    for _ in range(50):
        key = path.read_bytes()
        if len(key) == 32:
            return key
        time.sleep(0.01)  # the other process is still writing it
    raise RuntimeError(f"{path} is not a 32-byte key")


class Sealer:
    """Seals and opens cookie values under the session key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, data: dict[str, Any], aad: bytes) -> str:
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(data).encode(), aad)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, value: str | None, aad: bytes) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(self._aead.decrypt(raw[:12], raw[12:], aad))
        except Exception:
            return None
        return data if isinstance(data, dict) else None

    def session_of(self, request: web.Request) -> Session | None:
        data = self.open(request.cookies.get(SESSION_COOKIE), _AAD_SESSION)
        if data is None or time.time() - float(data.get("i", 0)) > LIFETIME:
            return None
        return Session(data["t"], data["r"], data["s"], data["c"], data["i"])

    def set_session(self, response: web.StreamResponse, session: Session, *, secure: bool) -> None:
        value = self.seal(
            {"t": session.token, "r": session.role, "s": session.scope, "c": session.csrf, "i": session.issued},
            _AAD_SESSION,
        )
        response.set_cookie(
            SESSION_COOKIE, value, httponly=True, samesite="Lax", secure=secure, path="/", max_age=LIFETIME
        )
        response.del_cookie(ANONYMOUS_COOKIE, path="/")

    def anonymous_csrf(self, request: web.Request) -> str | None:
        data = self.open(request.cookies.get(ANONYMOUS_COOKIE), _AAD_ANONYMOUS)
        if data is None or time.time() - float(data.get("i", 0)) > ANONYMOUS_LIFETIME:
            return None
        csrf = data.get("c")
        return csrf if isinstance(csrf, str) else None

    def set_anonymous(self, response: web.StreamResponse, csrf: str, *, secure: bool) -> None:
        value = self.seal({"c": csrf, "i": time.time()}, _AAD_ANONYMOUS)
        response.set_cookie(
            ANONYMOUS_COOKIE, value, httponly=True, samesite="Lax", secure=secure, path="/", max_age=ANONYMOUS_LIFETIME
        )


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str | None, given: object) -> bool:
    return expected is not None and isinstance(given, str) and hmac.compare_digest(expected, given)
