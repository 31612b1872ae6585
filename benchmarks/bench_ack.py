"""How fast does Slack get its ack? Tandem under gunicorn vs a bare Bolt app, same server.

Rounds of 1,000 signed `/tandem` commands at concurrency 20 (half `help`,
answered in the ack; half a command that writes to the database after
acking) against the real HTTP server on loopback, on SQLite and on
PostgreSQL, the servers taking turns round by round so a noisy machine
slows them alike. The ack latency is from sending the request to reading
the whole ack response; percentiles are over all rounds. For the writing
command it also reports when its answer reached Slack (`response_url`).
Also reports the idle bot's memory (PSS of all its processes).

A fake Slack answers the Web API in a process of its own at the lowest CPU
priority (nice 19): it stands for Slack's servers, whose work is not done on ours.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from _common import ROOT, percentile, postgres_database, sqlite_database, summary_ms

from tests.fakes.signed import sign
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

SECRET = "bench-secret"
WORKERS = 2  # both servers alike: one process per core
LOAD_PROCESSES = 4  # the load generator's processes (see load)
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
            str(WORKERS),
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
    from the client threads and inflate every latency they measure; at the
    machine's normal priority it would take CPU from the server under test,
    which Slack's own servers never do. On close it reports when each
    `response_url` answer arrived (monotonic clock, shared by all processes).
    """

    def __init__(self) -> None:
        script = (
            "import os, sys, json; os.nice(19); sys.path.insert(0, sys.argv[1]); "
            "from tests.fakes import FakeSlack; "
            "fake = FakeSlack().start(); "
            "[fake.add_user(u, tz='Europe/Berlin') for u in sys.argv[2:]]; "
            "print(fake.root, flush=True); sys.stdin.read(); "
            "print(json.dumps({c.path: c.at for c in fake.calls_to('response_url')}), flush=True); "
            "fake.stop()"
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

    def close(self) -> dict[str, float]:
        """Stop the fake; when each response_url path was posted to."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        arrivals = json.loads(self._proc.stdout.readline() or "{}")
        self._proc.wait(timeout=10)
        return {str(path): float(at) for path, at in arrivals.items()}


def body_for(text: str, user: str, fake: RemoteFake) -> tuple[bytes, str]:
    """A signed-to-be slash command body, and the path of its response_url."""
    response_url = fake.response_url()
    body = urlencode(
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
            "response_url": response_url,
            "trigger_id": f"1.{uuid.uuid4().hex}",
        }
    ).encode()
    return body, urlsplit(response_url).path


@dataclass
class Job:
    label: str
    body: bytes
    response_path: str
    sent_at: float = 0.0  # time.monotonic(), the clock the fake's arrival times use
    latency: float = 0.0
    ok: bool = False


def load(port: int, jobs: list[Job], concurrency: int) -> float:
    """Send every job from `concurrency` keep-alive connections; the elapsed seconds.

    The connections are spread over LOAD_PROCESSES processes: in one Python
    process, twenty client threads queue for its GIL after each response and
    that wait would be counted as the server's latency.
    """
    processes = min(LOAD_PROCESSES, concurrency)
    slices = [jobs[i::processes] for i in range(processes)]
    per_process = [
        concurrency // processes + (i < concurrency % processes) for i in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.starmap(
            _send_all,
            [
                (port, [job.body for job in part], n)
                for part, n in zip(slices, per_process, strict=True)
            ],
        )
    for part, timings in zip(slices, results, strict=True):
        for job, (sent_at, latency, ok) in zip(part, timings, strict=True):
            job.sent_at, job.latency, job.ok = sent_at, latency, ok
    first = min(job.sent_at for job in jobs)
    return max(job.sent_at + job.latency for job in jobs) - first


def _send_all(port: int, bodies: list[bytes], connections: int) -> list[tuple[float, float, bool]]:
    """(sent at, latency, ok) for each body, sent from `connections` threads."""
    timings: list[tuple[float, float, bool]] = [(0.0, 0.0, False)] * len(bodies)
    work: queue.Queue[int] = queue.Queue()
    for index in range(len(bodies)):
        work.put(index)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                index = work.get_nowait()
            except queue.Empty:
                break
            body = bodies[index]
            headers = {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
            ok = False
            sent_at = time.monotonic()
            try:
                conn.request("POST", "/slack/events", body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            timings[index] = (sent_at, time.monotonic() - sent_at, ok)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


@dataclass
class Server:
    kind: str  # "baseline" or "tandem"
    db_label: str
    db_url: str
    jobs: list[Job] = field(default_factory=list)
    seconds: float = 0.0
    idle_mb: list[float] = field(default_factory=list)
    database_cpu: float = 0.0  # PostgreSQL server CPU seconds, load and drain

    @property
    def name(self) -> str:
        return "bare Bolt" if self.kind == "baseline" else f"Tandem, {self.db_label}"

    def latencies(self, label: str) -> list[float]:
        return [job.latency for job in self.jobs if job.label == label]


def run_round(server: Server, fake: RemoteFake, args: argparse.Namespace) -> None:
    port = free_port()
    proc = start(server.kind, server.db_url, fake, port, args.threads)
    try:
        # Warm up both paths: the first requests pay for auth.test and imports.
        texts = ("help", args.write_command)
        warmup = [Job("warmup", *body_for(texts[n % 2], USERS[0], fake)) for n in range(40)]
        load(port, warmup, 4)
        time.sleep(2.0)  # let the warm-up's work finish before reading memory
        server.idle_mb.append(memory_mb(proc.pid))
        jobs = []
        for i in range(args.requests):
            user = USERS[i % len(USERS)]
            if i % 2 == 0:
                jobs.append(Job("help", *body_for("help", user, fake)))
            else:
                jobs.append(Job("write", *body_for(args.write_command, user, fake)))
        database_cpu = postgres_cpu_seconds()
        server.seconds += load(port, jobs, args.concurrency)
        server.jobs += jobs
    finally:
        # Tandem stops only once its work process has finished the queued work.
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    server.database_cpu += postgres_cpu_seconds() - database_cpu


def postgres_cpu_seconds() -> float:
    """CPU time used so far by this machine's PostgreSQL server processes.

    A backend's own time vanishes with it when its connection closes; the
    postmaster, which waits for it, then counts it among its children's time.
    """
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(") ")
        except OSError:
            continue  # the process has exited
        if name.endswith("(postgres"):
            fields = rest.split()
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def report(server: Server, base: Server, arrivals: dict[str, float]) -> None:
    errors = sum(not job.ok for job in server.jobs)
    print(
        f"\n{server.name}: {len(server.jobs)} requests, {len(server.jobs) / server.seconds:.0f} req/s, "
        f"errors {errors}, idle memory (PSS, all processes) {statistics.median(server.idle_mb):.0f} MB"
    )
    base_p99 = percentile(base.latencies("help") + base.latencies("write"), 99)
    for label in ("help", "write"):
        values = server.latencies(label)
        ratio = (
            "" if server is base else f"  = {percentile(values, 99) / base_p99:.2f}x baseline p99"
        )
        print(f"  ack {label:5s}  {summary_ms(values)}{ratio}")
    if server.kind == "tandem":
        writes = [job for job in server.jobs if job.label == "write"]
        answered = [
            arrivals[job.response_path] - job.sent_at
            for job in writes
            if job.response_path in arrivals
        ]
        print(
            f"  answer (response_url) of the writing command: {len(answered)}/{len(writes)} arrived, {summary_ms(answered)}"
        )
        if server.db_label == "postgres":
            print(
                f"  PostgreSQL server CPU per writing command: {server.database_cpu / len(writes) * 1000:.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
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
        f"bench_ack: {args.rounds} rounds of {args.requests} signed /tandem commands, "
        f"concurrency {args.concurrency}, gunicorn gthread {WORKERS} x {args.threads}, "
        f"{os.cpu_count()} cores"
    )
    fake = RemoteFake()
    arrivals: dict[str, float] = {}
    try:
        with ExitStack() as stack:
            sqlite_url = stack.enter_context(sqlite_database())
            seed(sqlite_url)
            servers = [
                Server("baseline", "sqlite", sqlite_url),
                Server("tandem", "sqlite", sqlite_url),
            ]
            if not args.skip_postgres:
                pg_url = stack.enter_context(postgres_database(args.postgres))
                seed(pg_url)
                servers.append(Server("tandem", "postgres", pg_url))
            for round_ in range(args.rounds):
                for server in servers:
                    run_round(server, fake, args)
                print(f"round {round_ + 1} done", flush=True)
    finally:
        arrivals = fake.close()
    for server in servers:
        report(server, servers[0], arrivals)


if __name__ == "__main__":
    main()
