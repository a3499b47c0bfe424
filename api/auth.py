"""Bearer tokens: minted by the CLI, stored only as hashes, scoped by role.

Invariants:
- a token is ``cbk_<token_id>_<secret>``; only ``sha256(secret)`` is stored, and the
  comparison is constant-time (``hmac.compare_digest``);
- every token has exactly one role and the scope that role needs: ``institution`` one
  provider, ``hr`` one jurisdiction (``CN`` for national), ``learner`` one learner,
  ``school`` one school (its sessions, attendance and own teachers); ``admin`` and
  ``auditor`` none;
- a revoked or expired token fails at once, in every server process: revocation
  notifies every server, which drops the token from its cache of verified tokens, and a
  cached token is trusted only after a barrier on the notification connection has shown
  that every revocation committed before the request was heard
  (``api.notifications``); without that barrier the token is looked up again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ledger.vocabulary import covers, is_jurisdiction

ROLES = ("admin", "institution", "hr", "auditor", "learner", "school")
REVOCATION_CHANNEL = "creditbank_tokens"
PREFIX = "cbk"

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_tokens (
    token_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL,
    role text NOT NULL,
    provider_id text,
    jurisdiction text,
    learner_id text,
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
-- Added with the school role; a database minted before has no school tokens.
ALTER TABLE auth_tokens ADD COLUMN IF NOT EXISTS school_id text;
"""


class TokenError(ValueError):
    """A token cannot be minted with these arguments."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what their token lets them reach."""

    token_id: str
    role: str
    provider_id: str | None = None
    jurisdiction: str | None = None
    learner_id: str | None = None
    school_id: str | None = None

    def covers_jurisdiction(self, jurisdiction: str) -> bool:
        if self.role in {"admin", "auditor"}:
            return True
        return self.role == "hr" and self.jurisdiction is not None and covers(self.jurisdiction, jurisdiction)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_scope(
    role: str,
    provider_id: str | None,
    jurisdiction: str | None,
    learner_id: str | None,
    school_id: str | None = None,
) -> None:
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}")
    needs = {"institution": "provider", "hr": "jurisdiction", "learner": "learner", "school": "school"}.get(role)
    given = {"provider": provider_id, "jurisdiction": jurisdiction, "learner": learner_id, "school": school_id}
    for scope, value in given.items():
        if scope == needs and not value:
            raise TokenError(f"a {role} token needs --{scope}")
        if scope != needs and value:
            raise TokenError(f"a {role} token takes no --{scope}")
    if jurisdiction and not is_jurisdiction(jurisdiction):
        raise TokenError("jurisdiction must be CN or a six-digit division code")


async def mint(
    conn: asyncpg.Connection,
    role: str,
    *,
    provider_id: str | None = None,
    jurisdiction: str | None = None,
    learner_id: str | None = None,
    school_id: str | None = None,
    label: str | None = None,
    expires_in: timedelta | None = None,
) -> str:
    """Create a token and return it; it is shown once and never stored in clear."""
    check_scope(role, provider_id, jurisdiction, learner_id, school_id)
    if expires_in is not None and expires_in <= timedelta(0):
        # A zero lifetime once meant "never expires": refuse it rather than guess.
        raise TokenError("a token's lifetime must be positive (omit it for a token that does not expire)")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    await conn.execute(
        "INSERT INTO auth_tokens (token_id, secret_sha256, role, provider_id, jurisdiction,"
        " learner_id, label, expires_at, school_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        token_id,
        _digest(secret),
        role,
        provider_id,
        jurisdiction,
        learner_id,
        label,
        expires_at,
        school_id,
    )
    return f"{PREFIX}_{token_id}_{secret}"


async def revoke(conn: asyncpg.Connection, token_id: str) -> bool:
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE auth_tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL",
            token_id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", REVOCATION_CHANNEL, token_id)
    return bool(status.endswith(" 1"))


async def list_tokens(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every token, oldest first, with its ``state``: revoked, expired or active."""
    rows = await conn.fetch(
        "SELECT token_id, role, provider_id, jurisdiction, learner_id, school_id, label, created_at,"
        " expires_at, revoked_at FROM auth_tokens ORDER BY created_at"
    )
    now = datetime.now(UTC)
    return [{**row, "state": token_state(row["revoked_at"], row["expires_at"], now)} for row in rows]


def token_state(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """What ``verify`` would make of the token now (revocation wins over expiry)."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and now >= expires_at:
        return "expired"
    return "active"


class TokenVerifier:
    """Verifies bearer tokens, caching good ones briefly; revocations clear the cache.

    ``heard_everything`` is the notification barrier: it returns True when every
    revocation committed before it was called has reached ``forget``. Without one, every
    request looks its token up."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        heard_everything: Callable[[], Awaitable[bool]] | None = None,
        ttl: float = 30.0,
    ) -> None:
        self._pool = pool
        self._heard_everything = heard_everything
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal, datetime | None]] = {}

    def forget(self, token_id: str | None = None) -> None:
        if token_id is None:
            self._cache.clear()
            return
        for key in [k for k, (_, p, _) in self._cache.items() if p.token_id == token_id]:
            del self._cache[key]

    async def verify(self, token: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None:
            until, principal, expires_at = cached
            if now < until and (expires_at is None or datetime.now(UTC) < expires_at):
                # The barrier may run the revocation handler, which drops this entry.
                heard = self._heard_everything is not None and await self._heard_everything()
                if heard and token in self._cache:
                    return principal
            else:
                del self._cache[token]
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        _, token_id, secret = parts
        row = await self._pool.fetchrow(
            "SELECT secret_sha256, role, provider_id, jurisdiction, learner_id, school_id, expires_at,"
            " revoked_at FROM auth_tokens WHERE token_id = $1",
            token_id,
        )
        # Compare even when the id is unknown, so timing does not tell ids apart.
        stored = bytes(row["secret_sha256"]) if row else b"\0" * 32
        if not hmac.compare_digest(stored, _digest(secret)) or row is None:
            return None
        if row["revoked_at"] is not None:
            return None
        expires_at = row["expires_at"]
        if expires_at is not None and datetime.now(UTC) >= expires_at:
            return None
        principal = Principal(
            token_id, row["role"], row["provider_id"], row["jurisdiction"], row["learner_id"], row["school_id"]
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (now + self._ttl, principal, expires_at)
        return principal
