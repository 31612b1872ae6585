"""How fast does Slack get its ack? Tandem under gunicorn vs a bare Bolt app, same server.

1,000 signed `/tandem` commands at concurrency 20 (half `help`, answered in the
ack; half a command that writes to the database after acking) against the
real HTTP server on loopback, on SQLite and on PostgreSQL. The latency is
from sending the request to reading the whole ack response. Also reports the
idle bot's resident memory. A fake Slack on loopback answers the Web API.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _common import ROOT, percentile, postgres_database, sqlite_database, summary_ms

from tests.fakes.signed import sign
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

SECRET = "bench-secret"
WORKERS = 2  # both servers alike: one process per core
USERS = [f"UB{i:04d}" for i in range(200)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def memory_mb(pid: int) -> float:
    """Proportional resident memory (PSS) of gunicorn's master and workers together.

    Workers are forked from the master and share its imported code, so adding
    their RSS would count those pages once per process.
    """
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


def seed(db_url: str) -> None:
    """A workspace with two teams, so member commands find their author."""
    from storage.db import make_engine, make_session_factory, transaction
    from storage.migrate import upgrade
    from storage.org import (
        MemberProfile,
        add_team,
        ensure_workspace,
        set_team_roster,
        upsert_members,
    )

    upgrade(db_url)
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        ids = upsert_members(
            session, ws, [MemberProfile(u, u.lower(), "Europe/Berlin") for u in USERS], now
        )
        for name, half in (("Marketing", USERS[:100]), ("IT", USERS[100:])):
            team = add_team(session, ws, name, "usergroup", f"S{name}", now)
            set_team_roster(session, team.id, {ids[u] for u in half}, now)
    engine.dispose()


def start(
    kind: str, db_url: str, fake: RemoteFake, port: int, threads: int
) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_HOST": "127.0.0.1",
        "TANDEM_PORT": str(port),
        "TANDEM_WEB_THREADS": str(threads),
        "TANDEM_WEB_WORKERS": str(WORKERS),
        "TANDEM_LOG_LEVEL": "WARNING",
        "TANDEM_SCHEDULER_ENABLED": "false",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}",
    }
    if kind == "tandem":
        cmd = [sys.executable, "-m", "bot.cli", "run"]
    else:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "baseline_app:wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


class RemoteFake:
    """The fake Slack in a process of its own, as Slack would be elsewhere.

    In the load generator's process its request handling would take the GIL
    from the client threads and inflate every latency they measure.
    """

    def __init__(self) -> None:
        script = (
            "import sys; sys.path.insert(0, sys.argv[1]); from tests.fakes import FakeSlack; "
            "fake = FakeSlack().start(); "
            "[fake.add_user(u, tz='Europe/Berlin') for u in sys.argv[2:]]; "
            "print(fake.root, flush=True); sys.stdin.read(); fake.stop()"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", script, str(ROOT), *USERS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.root = self._proc.stdout.readline().strip()
        self.url = f"{self.root}/api/"
        self._responses = 0

    def response_url(self) -> str:
        self._responses += 1
        return f"{self.root}/response/{self._responses}"

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


def body_for(text: str, user: str, fake: RemoteFake) -> bytes:
    return urlencode(
        {
            "token": "t",
            "team_id": TEAM_ID,
            "team_domain": "bench",
            "channel_id": "CBENCH",
            "channel_name": "bench",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/tandem",
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": fake.response_url(),
            "trigger_id": f"1.{uuid.uuid4().hex}",
        }
    ).encode()


def load(
    port: int, jobs: list[tuple[str, bytes]], concurrency: int
) -> tuple[dict[str, list[float]], float, int]:
    work: queue.Queue[tuple[str, bytes]] = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies: dict[str, list[float]] = {}
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                label, body = work.get_nowait()
            except queue.Empty:
                break
            headers = {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
            started = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.setdefault(label, []).append(elapsed)
                errors += not ok
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, time.perf_counter() - started, errors


def run_one(
    kind: str, db_label: str, db_url: str, fake: RemoteFake, args: argparse.Namespace
) -> dict[str, list[float]]:
    port = free_port()
    proc = start(kind, db_url, fake, port, args.threads)
    try:
        # Warm up: the first request pays for auth.test and imports.
        load(port, [("warmup", body_for("help", USERS[0], fake)) for _ in range(40)], 4)
        time.sleep(1.0)  # let background work from the warm-up finish before reading memory
        idle = memory_mb(proc.pid)
        jobs = []
        for i in range(args.requests):
            user = USERS[i % len(USERS)]
            if i % 2 == 0:
                jobs.append(("help", body_for("help", user, fake)))
            else:
                jobs.append(("write", body_for(args.write_command, user, fake)))
        if kind == "baseline":
            jobs = [("help" if label == "help" else "write", body) for label, body in jobs]
        latencies, elapsed, errors = load(port, jobs, args.concurrency)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    everything = [x for values in latencies.values() for x in values]
    print(
        f"\n{kind:8s} on {db_label}: {len(everything)} requests in {elapsed:.2f} s = {len(everything) / elapsed:.0f} req/s, errors {errors}, idle memory (PSS, all processes) {idle:.0f} MB"
    )
    for label in ("help", "write"):
        print(f"  {label:5s}  {summary_ms(latencies[label])}")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--threads", type=int, default=16, help="server threads (both servers)")
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    parser.add_argument("--write-command", default=f"away until {in_a_month}")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    print(
        f"bench_ack: {args.requests} signed /tandem commands, concurrency {args.concurrency}, gunicorn gthread x{args.threads}, {os.cpu_count()} cores"
    )
    fake = RemoteFake()
    try:
        with sqlite_database() as sqlite_url:
            seed(sqlite_url)
            base = run_one("baseline", "sqlite", sqlite_url, fake, args)
            ours = run_one("tandem", "sqlite", sqlite_url, fake, args)
            report_ratio("sqlite", base, ours)
        if not args.skip_postgres:
            with postgres_database(args.postgres) as pg_url:
                seed(pg_url)
                ours = run_one("tandem", "postgres", pg_url, fake, args)
                report_ratio("postgres", base, ours)
    finally:
        fake.close()


def report_ratio(label: str, base: dict[str, list[float]], ours: dict[str, list[float]]) -> None:
    base_p99 = percentile(base["help"] + base["write"], 99)
    for kind in ("help", "write"):
        p99 = percentile(ours[kind], 99)
        print(
            f"  {label}: {kind} p99 {p99 * 1000:.1f} ms = {p99 / base_p99:.2f}x the baseline's p99 ({base_p99 * 1000:.1f} ms)"
        )


if __name__ == "__main__":
    main()
