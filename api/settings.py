"""Settings: read from the environment once, into a frozen object.

Invariant: this is the only module that reads ``os.environ``; everything else is given
the ``Settings`` it needs (or the plain values in it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    #: External PostgreSQL; ``None`` starts the embedded server in ``data_dir``.
    database_url: str | None = None
    #: Hot standbys of that database (streaming replicas) that serve the HTTP reads, in
    #: turn; empty: reads go to the primary. Writes, the event store, the projections and
    #: the tokens always use the primary.
    read_database_urls: tuple[str, ...] = ()
    data_dir: Path = Path(".creditbank")
    #: The bank's Ed25519 signing keys (certificates, checkpoints); default data_dir/keys.
    key_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: Run the projections inside the server (``True``) or in their own process.
    inline_projections: bool = True
    timezone: str = "Asia/Shanghai"
    #: First year of a 5-year training cycle; cycles repeat every ``cycle_years``.
    cycle_anchor_year: int = 2021
    cycle_years: int = 5
    max_batch: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    read_pool_size: int = 8
    log_level: str = "INFO"
    #: How often the server signs an audit checkpoint when the log grew (0: never).
    checkpoint_seconds: float = 60.0
    #: The bank's own address as its readers know it (``https://credits.example.cn``): the
    #: issuer and ids of everything it signs. ``None``: ``http://host:port``. Never taken from
    #: a request, whose ``Host`` header the caller chooses.
    public_url: str | None = None
    #: Longest wait for a request body to arrive once its headers are in (a declared
    #: ``Content-Length`` never sent must not hold a connection).
    body_timeout_seconds: float = 30.0
    #: Longest wait for a request's line and headers once a connection is open or its last
    #: answer sent (aiohttp's ``keepalive_timeout``, which also closes a connection idle that
    #: long): a client sending its headers slowly must not hold a connection forever.
    header_timeout_seconds: float = 30.0
    #: This bank's id among the provincial banks (``220000``): the origin it signs departure
    #: records as, and the destination arrivals must name. ``None``: no moves between banks.
    bank_id: str | None = None
    #: The other banks this one trusts for arrivals: bank id -> its public key set (JWKS, as
    #: its ``GET /v1/keys`` serves it), from the JSON file ``CREDITBANK_PEER_KEYS_FILE``.
    peer_keys: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def public_base(self) -> str:
        """The base URL of every signed document: ``public_url`` or one made of host and port."""
        if self.public_url is not None:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def keys_path(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    def today(self) -> date:
        """The bank's today by the machine's clock: the local date in ``timezone`` (the
        server's clock unless ``create_app`` is given another; the CLI's)."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        try:
            settings = cls(
                database_url=env.get("CREDITBANK_DATABASE_URL") or None,
                read_database_urls=read_urls(env.get("CREDITBANK_READ_DATABASE_URL", "")),
                data_dir=Path(env.get("CREDITBANK_DATA_DIR", ".creditbank")),
                key_dir=Path(env["CREDITBANK_KEY_DIR"]) if env.get("CREDITBANK_KEY_DIR") else None,
                host=env.get("CREDITBANK_HOST", "127.0.0.1"),
                port=_whole(env, "CREDITBANK_PORT", 8080, 1, 65535),
                inline_projections=_flag(env, "CREDITBANK_INLINE_PROJECTIONS", True),
                timezone=env.get("CREDITBANK_TIMEZONE", "Asia/Shanghai"),
                cycle_anchor_year=_whole(env, "CREDITBANK_CYCLE_ANCHOR_YEAR", 2021),
                cycle_years=_whole(env, "CREDITBANK_CYCLE_YEARS", 5),
                max_batch=_whole(env, "CREDITBANK_MAX_BATCH", 10000),
                max_body_bytes=_whole(env, "CREDITBANK_MAX_BODY_BYTES", 16 * 1024 * 1024),
                read_pool_size=_whole(env, "CREDITBANK_READ_POOL_SIZE", 8),
                log_level=env.get("CREDITBANK_LOG_LEVEL", "INFO").strip().upper(),
                checkpoint_seconds=_seconds(env, "CREDITBANK_CHECKPOINT_SECONDS", 60.0),
                public_url=public_url(env["CREDITBANK_PUBLIC_URL"]) if env.get("CREDITBANK_PUBLIC_URL") else None,
                body_timeout_seconds=_seconds(env, "CREDITBANK_BODY_TIMEOUT_SECONDS", 30.0, positive=True),
                header_timeout_seconds=_seconds(env, "CREDITBANK_HEADER_TIMEOUT_SECONDS", 30.0, positive=True),
                bank_id=env.get("CREDITBANK_BANK_ID", "").strip() or None,
                peer_keys=peer_keys(env.get("CREDITBANK_PEER_KEYS_FILE", "").strip()),
            )
        except SettingsError:
            raise
        except ValueError as error:
            raise SettingsError(f"bad setting: {error}") from None
        settings = replace(settings, **overrides) if overrides else settings
        _check_names(settings)
        return settings


def peer_keys(path: str) -> dict[str, Mapping[str, Any]]:
    """``CREDITBANK_PEER_KEYS_FILE``: a JSON object of bank id -> JWKS (``{"keys": [...]}``)."""
    if not path:
        return {}
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"CREDITBANK_PEER_KEYS_FILE {path!r} is not a readable JSON file: {error}") from None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("keys"), list) for k, v in found.items()
    ):
        raise SettingsError(f'CREDITBANK_PEER_KEYS_FILE {path!r} must map bank ids to key sets ({{"keys": [...]}})')
    return found


def read_urls(value: str) -> tuple[str, ...]:
    """``CREDITBANK_READ_DATABASE_URL``: one or more PostgreSQL URLs, comma-separated."""
    urls = tuple(url.strip() for url in value.split(",") if url.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise SettingsError(
                "CREDITBANK_READ_DATABASE_URL must be PostgreSQL URLs separated by commas "
                f"(postgresql://user@host:5432/creditbank), not {parts.scheme or 'a URL without scheme'}://…"
            )
    return urls


def public_url(value: str) -> str:
    """An http(s) origin, optionally with a path prefix; no query, fragment or credentials.
    Answered without a trailing slash, so ids are ``{base}/v1/...``."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"CREDITBANK_PUBLIC_URL {value!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"CREDITBANK_PUBLIC_URL {value!r} may not hold a query, fragment or credentials")
    try:
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        raise ValueError(f"CREDITBANK_PUBLIC_URL {value!r} has a port that is not a number") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _whole(env: Mapping[str, str], name: str, default: int, low: int = 1, high: int = 2**31 - 1) -> int:
    """A whole-number setting; a bad value is refused naming the variable and what it takes."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return value


def _check_names(settings: Settings) -> None:
    """A time zone or log level the service would only trip over later, refused now."""
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CREDITBANK_TIMEZONE must name an IANA time zone such as Asia/Shanghai, not {settings.timezone!r}"
        ) from None
    if settings.log_level.upper() not in _LOG_LEVELS:
        raise SettingsError(f"CREDITBANK_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {settings.log_level!r}")


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _seconds(env: Mapping[str, str], name: str, default: float, *, positive: bool = False) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**9 or (positive and value == 0):  # also refuses nan and inf
        least = "above 0" if positive else "0 or more"
        raise SettingsError(f"{name} must be a number of seconds, {least}, not {text!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    lowered = text.strip().lower()
    if lowered in {"1", "y", "yes", "true", "on"}:
        return True
    if lowered in {"0", "n", "no", "false", "off"}:
        return False
    raise SettingsError(f"{name} must be yes or no, not {text!r}")
