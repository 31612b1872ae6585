"""Team sync of one user group of 100,000 members, against the fake Slack under its rate limits.

The fake Slack runs in its own process (its directory of 105,000 people is
not what is measured) and answers users.list and usergroups.users.list at
Slack's Tier 2, 20 calls a minute, with 429 and Retry-After beyond. The waits
pass on a virtual clock the two processes share: the client's rate-limit
handler moves it on instead of sleeping, so the times printed are the sync's
own and the waits Slack would impose are printed beside them.

Per database: the first sync (everyone new), a re-sync with nothing changed,
and one after churn (5 % of the group left, as many joined), each with its
time excluding rate-limit waits, the Slack calls it made (answered, and
answered 429) and the waits. Then the first sync again in a workspace of its
own under tracemalloc: the peak of Python allocations while it ran, and the
process's peak RSS growth. Anchors, measured in the same run: reading the
same pages from the fake with a bare client and no database (the floor the
calls set); one bare bulk insert of the same member and membership rows (the
floor the database sets); and the peak memory of holding every profile at
once, as the sync did before it streamed pages.

Run: .venv/bin/python benchmarks/bench_sync.py [--members N] [--postgres-url URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, literal, select  # noqa: E402

from benchmarks._common import postgres_database, sqlite_database  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_client import RateLimitWaits, make_client  # noqa: E402
from bot.slack_directory import PAGE, user_pages  # noqa: E402
from bot.sync import SyncResult, sync_teams  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Member, Team, TeamMembership  # noqa: E402
from storage.org import add_team, ensure_workspace  # noqa: E402
from storage.types import UTCDateTime  # noqa: E402

MEMBERS = 100_000
TIER_2 = 20  # calls a minute: users.list, usergroups.users.list
GROUP = "SBENCH"
DEFAULT_POSTGRES = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ZONES = ("Europe/London", "Europe/Madrid", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
TOKEN = "xoxb-test"


# --- the virtual clock both processes read ------------------------------------------------


class SharedClock:
    """Seconds in an 8-byte file both processes map; only this process's waits move it."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "r+b")  # noqa: SIM115 - kept open with the mapping
        self._map = mmap.mmap(self._file.fileno(), 8)
        self._lock = threading.Lock()

    @staticmethod
    def create(path: str, start: float = 1_000.0) -> SharedClock:
        Path(path).write_bytes(struct.pack("d", start))
        return SharedClock(path)

    def __call__(self) -> float:
        return float(struct.unpack("d", self._map[:8])[0])

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._map[:8] = struct.pack("d", self() + seconds)

    def close(self) -> None:
        self._map.close()
        self._file.close()


# --- the fake Slack in a process of its own -----------------------------------------------


def people(members: int) -> list[str]:
    """The workspace: the group's members and 5 % more who are in no team."""
    return [f"U{i:07d}" for i in range(members + members // 20)]


def serve_fake(clock_path: str, members: int, limits: Mapping[str, int]) -> None:
    """The child's side: seed the directory, then answer commands on stdin, one a line."""
    from tests.fakes import FakeSlack

    clock = SharedClock(clock_path)
    everyone = people(members)
    fake = FakeSlack(token=TOKEN).start()
    for i, uid in enumerate(everyone):
        fake.add_user(uid, tz=ZONES[i % len(ZONES)], deleted=i % 500 == 499)
    fake.add_usergroup(GROUP, "everyone", everyone[:members])
    fake.limit_methods(limits, clock=clock)
    print(fake.url, flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "group":  # group START END: the group is everyone[START:END]
            fake.add_usergroup(GROUP, "everyone", everyone[int(args[0]) : int(args[1])])
            print("{}", flush=True)
        elif command == "calls":  # what was asked since the last "calls", by method
            counts: dict[str, dict[str, int]] = {}
            for call in fake.calls:
                by_status = counts.setdefault(call.method, {})
                by_status[str(call.status)] = by_status.get(str(call.status), 0) + 1
            fake.reset()  # drops the recorded answers; keeps the directory
            fake.limit_methods(limits, clock=clock)
            print(json.dumps(counts), flush=True)
    fake.stop()


class RemoteFake:
    def __init__(self, clock_path: str, members: int, limits: Mapping[str, int]) -> None:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve-fake",
                clock_path,
                "--members",
                str(members),
                "--limits",
                json.dumps(dict(limits)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.url = self._readline()

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Slack process stopped")
        return line.strip()

    def _ask(self, line: str) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        return json.loads(self._readline())

    def group(self, start: int, end: int) -> None:
        self._ask(f"group {start} {end}")

    def calls(self) -> dict[str, dict[str, int]]:
        return dict(self._ask("calls"))

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


# --- measuring ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    label: str
    result: SyncResult | None
    seconds: float  # wall time, rate-limit waits excluded (they pass on the virtual clock)
    waited: float  # virtual seconds slept on Retry-After
    ok_calls: int
    limited_calls: int
    by_method: dict[str, int]

    def line(self) -> str:
        calls = ", ".join(f"{n} {method}" for method, n in sorted(self.by_method.items()))
        outcome = ""
        if self.result is not None:
            r = self.result
            outcome = (
                f"; {r.members:,} members (+{r.added:,} / -{r.removed:,}, {r.excluded} left out)"
            )
        return (
            f"  {self.label:<38} {self.seconds:7.2f} s   calls: {calls}; {self.ok_calls} answered, "
            f"{self.limited_calls} answered 429; waits {self.waited / 60:5.1f} min{outcome}"
        )


@dataclass(frozen=True)
class Figures:
    """What one database's run measured (the smoke test checks the outcomes)."""

    database: str
    runs: list[Run]
    traced_peak: int  # bytes of Python allocations at their peak during a first sync
    rss_growth: int | None  # bytes the process's peak RSS grew by during it
    anchor_reads: Run
    anchor_insert_seconds: float
    members: int


def _counted(
    label: str,
    calls: dict[str, dict[str, int]],
    waits: RateLimitWaits,
    waited_before: float,
    seconds: float,
    result: SyncResult | None,
) -> Run:
    ok = {method: counts.get("200", 0) for method, counts in calls.items()}
    limited = sum(counts.get("429", 0) for counts in calls.values())
    return Run(label, result, seconds, waits.waited - waited_before, sum(ok.values()), limited, ok)


def _vm_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Linux lets a process reset its peak RSS (VmHWM) by writing 5 to clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def _services(url: str, fake_url: str) -> Iterator[Services]:
    settings = load_settings(
        _env_file=None,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=fake_url,
        TANDEM_DATABASE_URL=url,
        TANDEM_LOG_LEVEL="WARNING",
    )
    services = Services.from_settings(settings)
    try:
        yield services
    finally:
        services.close()


def _team(services: Services, slack_team: str) -> int:
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        workspace_id = ensure_workspace(session, slack_team, now)
        add_team(session, workspace_id, "Everyone", "usergroup", GROUP, now)
    return workspace_id


def bare_reads(client: Any) -> int:
    """The anchor for Slack: the same calls, each page only counted."""
    seen = len(client.usergroups_users_list(usergroup=GROUP)["users"])
    cursor = None
    while True:
        page = (
            client.users_list(limit=PAGE, cursor=cursor)
            if cursor
            else client.users_list(limit=PAGE)
        )
        seen += len(page["members"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return seen


def bare_insert(services: Services, members: int) -> float:
    """The anchor for the database: the same member rows in one bare executemany INSERT,
    and their memberships in one INSERT … SELECT."""
    now = datetime.now(UTC)
    workspace_id = _team(services, "TANCHOR")
    rows = [
        {
            "workspace_id": workspace_id,
            "slack_user_id": uid,
            "display_name": uid.lower(),
            "tz": ZONES[i % len(ZONES)],
            "is_bot": False,
            "is_deleted": False,
            "is_guest": False,
            "is_workspace_admin": False,
            "opted_out": [],
            "updated_at": now,
        }
        for i, uid in enumerate(people(members)[:members])
    ]
    start = time.perf_counter()
    with transaction(services.sessions) as session:
        team_id = session.scalar(select(Team.id).where(Team.workspace_id == workspace_id))
        session.execute(insert(Member), rows)
        session.execute(
            insert(TeamMembership).from_select(
                ["team_id", "member_id", "joined_at"],
                select(literal(team_id), Member.id, literal(now, UTCDateTime())).where(
                    Member.workspace_id == workspace_id
                ),
            )
        )
    return time.perf_counter() - start


def held_profiles_peak(client: Any) -> int:
    """The memory anchor: every profile of the workspace held at once (the earlier sync)."""
    tracemalloc.start()
    try:
        everyone = {p.slack_user_id: p for page in user_pages(client) for p in page}
        ids = client.usergroups_users_list(usergroup=GROUP)["users"]
        assert len(everyone) >= len(ids)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(
    url: str,
    database: str,
    members: int,
    *,
    limits: Mapping[str, int] | None = None,
    report: Callable[[str], None] = print,
) -> Figures:
    """Every figure for one database; `report` gets each line as it is measured."""
    limits = dict(limits or {"users.list": TIER_2, "usergroups.users.list": TIER_2})
    churn = members // 20
    upgrade(url)
    with tempfile.TemporaryDirectory() as directory:
        clock_path = str(Path(directory) / "clock")
        clock = SharedClock.create(clock_path)
        fake = RemoteFake(clock_path, members, limits)
        try:
            with _services(url, fake.url) as services:
                waits = RateLimitWaits(1_000, sleep=clock.sleep, jitter=lambda: 0.0)
                client = make_client(services.settings, timeout=60, waits=waits)
                fake.calls()  # start counting from here
                runs = []

                def timed(label: str, workspace_id: int) -> Run:
                    before = waits.waited
                    start = time.perf_counter()
                    (result,) = sync_teams(services, client, workspace_id)
                    seconds = time.perf_counter() - start
                    run = _counted(label, fake.calls(), waits, before, seconds, result)
                    report(run.line())
                    return run

                report(
                    f"{database}: a user group of {members:,} in a workspace of {len(people(members)):,}"
                )
                workspace_id = _team(services, "TSYNC")
                runs.append(timed("first sync (everyone new)", workspace_id))
                runs.append(timed("re-sync, nothing changed", workspace_id))
                fake.group(churn, members + churn)
                runs.append(
                    timed(f"re-sync after churn ({churn:,} left, {churn:,} joined)", workspace_id)
                )
                fake.group(0, members)

                before = waits.waited
                start = time.perf_counter()
                bare_reads(client)
                anchor_reads = _counted(
                    "anchor: the same pages, bare, no database",
                    fake.calls(),
                    waits,
                    before,
                    time.perf_counter() - start,
                    None,
                )
                report(anchor_reads.line())
                insert_seconds = bare_insert(services, members)
                report(
                    f"  anchor: {members:,} member and {members:,} membership rows, "
                    f"bulk-inserted bare: {insert_seconds:.2f} s"
                )
                traced_workspace = _team(services, "TTRACE")
                rss_before = _vm_kib("VmRSS")
                can_reset = _reset_peak_rss()
                tracemalloc.start()
                sync_teams(services, client, traced_workspace)
                traced_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                peak = _vm_kib("VmHWM")
                rss_growth = (
                    (peak - rss_before) * 1024
                    if can_reset and peak is not None and rss_before is not None
                    else None
                )
                fake.calls()
                growth = f"{rss_growth / 2**20:.0f} MiB" if rss_growth is not None else "n/a"
                report(
                    f"  first sync under tracemalloc: peak {traced_peak / 2**20:.1f} MiB of Python "
                    f"allocations ({traced_peak / members:.0f} bytes a member); peak RSS growth {growth}"
                )

        finally:
            fake.close()
            clock.close()
    return Figures(database, runs, traced_peak, rss_growth, anchor_reads, insert_seconds, members)


def old_way_peak(members: int, limits: Mapping[str, int] | None = None) -> int:
    """Peak traced memory of holding every profile at once, against a fake of the same size."""
    limits = dict(limits or {"users.list": TIER_2, "usergroups.users.list": TIER_2})
    with tempfile.TemporaryDirectory() as directory:
        clock_path = str(Path(directory) / "clock")
        clock = SharedClock.create(clock_path)
        fake = RemoteFake(clock_path, members, limits)
        try:
            waits = RateLimitWaits(1_000, sleep=clock.sleep, jitter=lambda: 0.0)
            from slack_sdk import WebClient

            client = WebClient(token=TOKEN, base_url=fake.url, timeout=60, retry_handlers=[waits])
            return held_profiles_peak(client)
        finally:
            fake.close()
            clock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin URL")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--members", type=int, default=MEMBERS, help=f"default {MEMBERS:,}")
    parser.add_argument("--serve-fake", metavar="CLOCK_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--limits", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        serve_fake(args.serve_fake, args.members, json.loads(args.limits))
        return 0
    backends: list[tuple[str, Callable[[], Any]]] = [("SQLite", sqlite_database)]
    if not args.skip_postgres:
        backends.append(("PostgreSQL", lambda: postgres_database(args.postgres_url)))
    for label, database in backends:
        with database() as url:
            measure(url, label, args.members)
    peak = old_way_peak(args.members)
    print(
        f"anchor: every profile held at once (the sync before pages were streamed): "
        f"peak {peak / 2**20:.1f} MiB of Python allocations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
