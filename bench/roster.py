"""Roster import throughput: learners registered per second over HTTP, and server CPU per learner.

Starts ``creditbank serve`` on a fresh embedded database (its own data folder), mints an admin
token, posts ``--rosters`` rosters of ``--size`` new learners each, then the first roster again
(all duplicates), and prints learners/s and the server process's CPU per learner (and
PostgreSQL's, summed over its processes). Stops what it started, by pid.

    .venv/bin/python -m bench.roster [--size 10000] [--rosters 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from bench.procs import CREDITBANK_ARGV, free_port


def roster(start: int, size: int) -> bytes:
    items = [
        {
            "learner_id": f"T{n:012d}",
            "name": f"教师{n}",
            "jurisdiction": "330302",
            "school": f"鹿城区第{n % 97 + 1}小学",
            "hired_on": f"{2000 + n % 25}-09-01",
            "roles": [{"role": "teacher", "since": f"{2000 + n % 25}-09-01"}],
        }
        for n in range(start, start + size)
    ]
    return json.dumps({"learners": items}, ensure_ascii=False).encode()


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def postgres_cpu(data_dir: Path) -> float:
    total = 0.0
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if (
                p.info["name"]
                and p.info["name"].startswith("postgres")
                and str(data_dir) in " ".join(psutil.Process(p.ppid()).cmdline() + (p.info["cmdline"] or []))
            ):
                total += cpu(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rosters", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="creditbank-roster-"))
    port = free_port()
    env = {**os.environ, "CREDITBANK_DATA_DIR": str(folder / "data"), "CREDITBANK_PORT": str(port)}
    server = subprocess.Popen([*CREDITBANK_ARGV, "serve"], env=env, cwd=folder, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        token = subprocess.run(
            [*CREDITBANK_ARGV, "tokens", "create", "--role", "admin"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        process = psutil.Process(server.pid)
        bodies = [roster(i * args.size, args.size) for i in range(args.rosters)] + [roster(0, args.size)]
        for label, body in zip([*(["new"] * args.rosters), "again"], bodies, strict=True):
            request = urllib.request.Request(
                base + "/v1/learners",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            cpu0, pg0, t0 = cpu(process), postgres_cpu(folder), time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as r:
                answer = json.loads(r.read())
            elapsed = time.perf_counter() - t0
            server_cpu, pg_cpu = cpu(process) - cpu0, postgres_cpu(folder) - pg0
            print(
                f"{label:5} {args.size} learners: recorded {answer['recorded']}, duplicates {answer['duplicates']},"
                f" rejected {answer['rejected']}; {elapsed:.2f} s = {args.size / elapsed:,.0f} learners/s;"
                f" server CPU {server_cpu * 1e6 / args.size:.0f} µs/learner,"
                f" PostgreSQL CPU {pg_cpu * 1e6 / args.size:.0f} µs/learner"
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
