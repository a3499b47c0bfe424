"""The bank's evaluation secret: the key under which "evaluated" marks are tagged and
waiting ballots sealed (``ledger.evaluation``).

Invariants:
- it lives in the key directory beside the signing keys (``evaluation.secret``, 32 random
  bytes, mode 0600), never in the database, the event log, a log line or an answer;
- it is made once, atomically (written to a temporary file, then linked into place), so
  processes starting together all end up with the same secret;
- losing it loses nothing recorded: marks already made stay (a learner could then evaluate
  a completion again), and ballots waiting in a pool could no longer be tallied.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = "evaluation.secret"  # noqa: S105 - a file name, not a secret
SECRET_BYTES = 32


def evaluation_secret(directory: Path) -> bytes:
    """The secret in ``directory``, made on first use."""
    path = directory / SECRET_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{SECRET_FILE}.{secrets.token_hex(8)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
        # The first link wins; a process that lost the race reads the winner's secret.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink()
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"{path} is not an evaluation secret of {SECRET_BYTES} bytes")
    return secret


def pool_key(secret: bytes) -> bytes:
    """The key waiting ballots are sealed under (derived, so the tag key is never reused)."""
    return hmac.new(secret, b"creditbank/ballot-pool", hashlib.sha256).digest()
