"""Settings: read from the environment once, into a frozen object.

Invariant: this is the only module that reads ``os.environ``; everything else is given
the ``Settings`` it needs (or the plain values in it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    #: External PostgreSQL; ``None`` starts the embedded server in ``data_dir``.
    database_url: str | None = None
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

    @property
    def keys_path(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        try:
            settings = cls(
                database_url=env.get("CREDITBANK_DATABASE_URL") or None,
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
            )
        except SettingsError:
            raise
        except ValueError as error:
            raise SettingsError(f"bad setting: {error}") from None
        settings = replace(settings, **overrides) if overrides else settings
        _check_names(settings)
        return settings


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
        raise SettingsError(
            f"CREDITBANK_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {settings.log_level!r}")


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**9:  # also refuses nan and inf
        raise SettingsError(f"{name} must be a number of seconds, 0 or more, not {text!r}")
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
