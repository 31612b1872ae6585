"""When does the member see the answer? Tandem under gunicorn vs a bare Bolt app, same server.

Signed `/tandem` commands of three kinds (`help`: no work; `away until …`:
a database write; `kudos @… for …`: a Slack lookup, a database write and an
outbox row) are sent to `tandem run` on SQLite and on PostgreSQL, and to a
bare Bolt app that answers every command in its ack, served the same way
(gunicorn, 2 threaded workers), in the same run:
(a) steady: 20 commands a second for 60 seconds (open loop: each request
    leaves at its slot, whatever the earlier ones are doing);
(b) burst: 1,000 commands at concurrency 20 (closed loop).
The answer time is from sending the request until the member's answer is
there: the ack's body when it carries one, else the arrival of the answer at
`response_url`. `tandem run` runs with its worker threads (tick, senders, job
runner) as deployed, so the kudos posts are sent during the load. Also
reports the idle memory of `tandem run` (PSS of all its processes).

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
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from _common import ROOT, percentile, postgres_database, sqlite_database

from tests.fakes.signed import sign
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

SECRET = "bench-secret"
WORKERS = 2  # both servers alike: one process per core
LOAD_PROCESSES = 4  # the burst's load generator processes (see load)
USERS = [f"UB{i:04d}" for i in range(200)]
CHANNEL = "CBENCH"
KINDS = ("help", "away", "kudos")
ACK_LIMIT = 3.0  # Slack's limit for an ack


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
    """A workspace with two teams in a partnership, so every command finds its author."""
    from rituals.interactions import InterdependenceType
    from storage.db import make_engine, make_session_factory, transaction
    from storage.migrate import upgrade
    from storage.org import (
        MemberProfile,
        add_partnership,
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
        partnership = add_partnership(
            session,
            ws,
            "Bench",
            ["Marketing", "IT"],
            CHANNEL,
            [],
            InterdependenceType.RECIPROCAL,
            now,
        )
        partnership.settings = {"kudos_daily_limit": 1_000_000}
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
            "[fake.add_user(u, tz='Europe/Berlin') for u in sys.argv[3:]]; "
            "fake.add_channel(sys.argv[2], 'bench', sys.argv[3:]); "
            "print(fake.root, flush=True); sys.stdin.read(); "
            "print(json.dumps({c.path: c.at for c in fake.calls_to('response_url')}), flush=True); "
            "fake.stop()"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", script, str(ROOT), CHANNEL, *USERS],
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


def command_text(kind: str, n: int) -> tuple[str, str]:
    """(user, text) of the n-th command of `kind`."""
    user = USERS[n % 100]  # Marketing
    if kind == "help":
        return user, "help"
    if kind == "away":
        return user, f"away until {(datetime.now(UTC) + timedelta(days=30)).date().isoformat()}"
    return user, f"kudos <@{USERS[100 + n % 100]}> for bench run {n}"


def body_for(kind: str, n: int, fake: RemoteFake) -> tuple[bytes, str]:
    """A signed-to-be slash command body, and the path of its response_url."""
    user, text = command_text(kind, n)
    response_url = fake.response_url()
    body = urlencode(
        {
            "token": "t",
            "team_id": TEAM_ID,
            "team_domain": "bench",
            "channel_id": CHANNEL,
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
    kind: str
    body: bytes
    response_path: str
    sent_at: float = 0.0  # time.monotonic(), the clock the fake's arrival times use
    latency: float = 0.0  # until the ack was read
    ok: bool = False
    answered_in_ack: bool = False

    def answer(self, arrivals: dict[str, float]) -> float | None:
        """Seconds until the member saw the answer, or None if it never came."""
        if self.answered_in_ack:
            return self.latency
        arrived = arrivals.get(self.response_path)
        return None if arrived is None else arrived - self.sent_at


def jobs_for(count: int, fake: RemoteFake, start: int = 0) -> list[Job]:
    return [
        Job(KINDS[n % len(KINDS)], *body_for(KINDS[n % len(KINDS)], start + n, fake))
        for n in range(count)
    ]


Timing = tuple[float, float, bool, bool]  # sent at, ack latency, ok, answered in the ack


def _send(
    conn: http.client.HTTPConnection, port: int, body: bytes
) -> tuple[Timing, http.client.HTTPConnection]:
    headers = {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
    ok = in_ack = False
    sent_at = time.monotonic()
    try:
        conn.request("POST", "/slack/events", body, headers)
        response = conn.getresponse()
        content = response.read()
        ok = response.status == 200
        in_ack = ok and b'"text"' in content
    except (OSError, http.client.HTTPException):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return (sent_at, time.monotonic() - sent_at, ok, in_ack), conn


def _record(jobs: list[Job], timings: list[Timing]) -> None:
    for job, (sent_at, latency, ok, in_ack) in zip(jobs, timings, strict=True):
        job.sent_at, job.latency, job.ok, job.answered_in_ack = sent_at, latency, ok, in_ack


def burst(port: int, jobs: list[Job], concurrency: int) -> float:
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
        _record(part, timings)
    first = min(job.sent_at for job in jobs)
    return max(job.sent_at + job.latency for job in jobs) - first


def _send_all(port: int, bodies: list[bytes], connections: int) -> list[Timing]:
    timings: list[Timing] = [(0.0, 0.0, False, False)] * len(bodies)
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
            timings[index], conn = _send(conn, port, bodies[index])
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def steady(port: int, jobs: list[Job], rate: float) -> float:
    """Send job i at start + i / rate (open loop), each on a fresh connection; elapsed seconds."""
    start = time.monotonic() + 0.1
    local = threading.local()

    def send(index: int) -> Timing:
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the request's slot in the steady stream
        conn = getattr(local, "conn", None) or http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30
        )
        timing, local.conn = _send(conn, port, jobs[index].body)
        return timing

    with ThreadPoolExecutor(max_workers=16) as pool:
        timings = list(pool.map(send, range(len(jobs))))
    _record(jobs, timings)
    return time.monotonic() - start


@dataclass
class Server:
    kind: str  # "baseline" or "tandem"
    db_label: str
    db_url: str
    runs: dict[str, list[Job]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    idle_mb: float = 0.0

    @property
    def name(self) -> str:
        return "bare Bolt" if self.kind == "baseline" else f"Tandem, {self.db_label}"


def run_server(server: Server, fake: RemoteFake, args: argparse.Namespace) -> None:
    port = free_port()
    proc = start(server.kind, server.db_url, fake, port, args.threads)
    try:
        # Warm up every path: the first requests pay for auth.test and imports.
        burst(port, jobs_for(60, fake, start=10_000), 4)
        time.sleep(3.0)  # let the warm-up's posts go out before reading memory
        server.idle_mb = memory_mb(proc.pid)
        jobs = jobs_for(int(args.rate * args.seconds), fake, start=20_000)
        server.seconds["steady"] = steady(port, jobs, args.rate)
        server.runs["steady"] = jobs
        jobs = jobs_for(args.burst, fake, start=40_000)
        server.seconds["burst"] = burst(port, jobs, args.concurrency)
        server.runs["burst"] = jobs
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


def report(servers: list[Server], arrivals: dict[str, float]) -> None:
    base = next(s for s in servers if s.kind == "baseline")
    for run in ("steady", "burst"):
        base_answers = [a for j in base.runs[run] if (a := j.answer(arrivals)) is not None]
        base_acks = [j.latency for j in base.runs[run]]
        base_answer_p99 = percentile(base_answers, 99)
        base_ack_p99 = percentile(base_acks, 99)
        print(f"\n({run}) " + ("20 commands/s" if run == "steady" else "concurrency 20"))
        print(
            f"  {'server':22s} {'kind':6s} {'answer p50':>11s} {'p95':>10s} {'p99':>10s} "
            f"{'x bare':>7s} {'ack p99':>10s} {'x bare':>7s} {'ack max':>10s} {'errors':>6s} {'unanswered':>10s}"
        )
        for server in servers:
            jobs = server.runs[run]
            rate = len(jobs) / server.seconds[run]
            kinds = ("all",) if server.kind == "baseline" else KINDS
            for kind in kinds:
                mine = [j for j in jobs if kind in ("all", j.kind)]
                answers = [a for j in mine if (a := j.answer(arrivals)) is not None]
                acks = [j.latency for j in mine]
                errors = sum(not j.ok for j in mine)
                if not answers:
                    print(f"  {server.name:22s} {kind:6s} no answers")
                    continue
                print(
                    f"  {server.name:22s} {kind:6s} {ms(percentile(answers, 50))} "
                    f"{ms(percentile(answers, 95))} {ms(percentile(answers, 99))} "
                    f"{percentile(answers, 99) / base_answer_p99:6.2f}x {ms(percentile(acks, 99))} "
                    f"{percentile(acks, 99) / base_ack_p99:6.2f}x {ms(max(acks))} {errors:6d} "
                    f"{len(mine) - len(answers):10d}"
                )
            over = sum(j.latency > ACK_LIMIT for j in jobs)
            print(
                f"  {server.name:22s} throughput {rate:6.1f} req/s, acks over {ACK_LIMIT:.0f} s: {over}"
            )
    print()
    for server in servers:
        print(f"idle memory, {server.name} (PSS, all processes): {server.idle_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="steady commands per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady duration")
    parser.add_argument("--burst", type=int, default=1000, help="commands in the burst")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--threads", type=int, default=16, help="server threads (both servers)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    print(
        f"bench_ack: steady {args.rate:g} commands/s for {args.seconds:g} s, then a burst of "
        f"{args.burst} at concurrency {args.concurrency}; kinds {', '.join(KINDS)} in turn; "
        f"gunicorn gthread {WORKERS} x {args.threads}, {os.cpu_count()} cores"
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
            for server in servers:
                run_server(server, fake, args)
    finally:
        arrivals = fake.close()
    report(servers, arrivals)


if __name__ == "__main__":
    main()
