"""`tandem digest` and `tandem demo`: the leaders' balance in a terminal.

Neither needs a Slack token, except `tandem digest --post`, which sends the
digest to the partnership's leaders now, through the outbox. Heavy imports
wait until a command runs, so `tandem --help` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.digest import Digest

POST_TIMEOUT_SECONDS = 120.0


def _month(text: str) -> object:
    from bot.digest import Month

    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def digest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partnership", required=True, metavar="NAME", help="its name, quoted")
    parser.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="the calendar month (default: the last complete month)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--chart", type=Path, metavar="FILE", help="write the chart PNG here")
    parser.add_argument(
        "--post",
        action="store_true",
        help="send it to the leaders now, through the outbox (needs SLACK_BOT_TOKEN)",
    )
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="drop the partnership's stored monthly figures and compute them again from the "
        "log (after correcting logged data)",
    )


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("tandem-demo.db"),
        metavar="PATH",
        help="where to write the demo's SQLite database (an older demo database there is "
        "replaced; any other file is left alone)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=Path("tandem-demo-chart.png"),
        metavar="FILE",
        help="where to write the chart",
    )


def output_problem(path: Path, what: str) -> str | None:
    """Why `path` cannot be written (checked before any work), or None."""
    folder = path.parent
    if not folder.is_dir():
        return f"cannot write the {what} to {path}: the folder {folder} does not exist"
    if path.is_dir():
        return f"cannot write the {what} to {path}: it is a folder; give a file name"
    return None


def _require_migrated(url: str) -> None:
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision

    engine = make_engine(url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    if current != head_revision():
        raise SettingsError("the database is not migrated: run `tandem migrate` first.")


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chart import balance_chart
    from bot.clock import utcnow
    from bot.digest import (
        Month,
        PartnershipNotFound,
        as_of,
        balance_timezone,
        compute_digest,
        find_partnership,
    )
    from bot.digest_sections import sections_text
    from bot.digest_text import render_table
    from storage.balance_snapshots import drop_snapshots
    from storage.db import make_engine, make_session_factory, transaction

    problem = output_problem(args.chart, "chart") if args.chart else None
    if problem:
        print(f"tandem: {problem}", file=sys.stderr)
        return 1
    if args.post and settings.slack_bot_token is None:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: --post sends as the bot. Leave out --post to only "
            "print the digest."
        )
    _require_migrated(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        now = utcnow()
        # A transaction: the closed months computed for the first time are stored.
        with transaction(sessions) as session:
            try:
                partnership = find_partnership(session, args.partnership)
            except PartnershipNotFound as exc:
                print(f"tandem: {exc}", file=sys.stderr)
                return 1
            month = args.month or Month.last_complete(now, balance_timezone(partnership))
            dropped = drop_snapshots(session, partnership.id) if args.recompute else None
            digest = as_of(compute_digest(session, partnership.id, month, now), now)
        # Notes go to stderr so that --json output stays valid JSON.
        notes = sys.stderr if args.json else sys.stdout
        if dropped is not None:
            print(
                f"recomputed from the log; {dropped} stored month(s) dropped, the months shown "
                "stored again",
                file=notes,
            )
        if args.json:
            print(json.dumps(digest.as_dict(), indent=2, ensure_ascii=False))
        else:
            print(render_table(digest))
            if digest.sections:
                print("\n" + sections_text(digest.sections))
        if args.chart:
            args.chart.write_bytes(balance_chart(digest))
            print(f"chart written to {args.chart}", file=notes)
        if args.post:
            return _post(settings, sessions, digest, utcnow(), notes)
        return 0
    finally:
        engine.dispose()


def _post(
    settings: Settings,
    factory: sessionmaker[Session],
    digest: Digest,
    now: datetime,
    notes: TextIO,
) -> int:
    """Queue the digest for the leaders (and the leaders' channel), then send those rows."""
    from sqlalchemy import select

    from bot.digest import leader_ids, queue_digest, render
    from bot.outbox import OutboxSender, sender_client
    from storage import rituals as ritual_store
    from storage.db import transaction
    from storage.models import Outbox, Partnership
    from storage.outbox import OutboxStatus

    rendered = render(digest)
    suffix = f":cli:{now:%Y%m%dT%H%M%S}"
    with transaction(factory) as session:
        partnership = session.get(Partnership, digest.partnership_id)
        assert partnership is not None
        leaders = leader_ids(partnership)
        channel = next(
            (
                r.settings.get("leaders_channel")
                for r in ritual_store.list_for_partnership(session, partnership.id)
                if r.kind == "digest" and r.settings.get("leaders_channel")
            ),
            None,
        )
        queue_digest(
            session,
            rendered,
            now,
            workspace_id=partnership.workspace_id,
            leaders=leaders,
            channel=channel,
            suffix=suffix,
        )
    prefix = f"digest:{digest.partnership_id}:{digest.month.key}:"
    sender = OutboxSender(factory, sender_client(settings), settings, f"cli-digest:{now:%H%M%S}")
    deadline = time.monotonic() + POST_TIMEOUT_SECONDS

    def states() -> dict[str, str]:
        with factory() as session:
            rows = session.execute(
                select(Outbox.idempotency_key, Outbox.status).where(
                    Outbox.idempotency_key.like(f"{prefix}%{suffix}%")
                )
            )
            return {key: status for key, status in rows}

    while time.monotonic() < deadline:
        if all(s != OutboxStatus.PENDING for s in states().values()):
            break
        if not sender.run_once():
            time.sleep(0.5)
    found = states()
    sent = sum(1 for s in found.values() if s == OutboxStatus.SENT)
    print(
        f"posted to {len(leaders)} leader(s){' and ' + str(channel) if channel else ''}: "
        f"{sent} of {len(found)} calls sent",
        file=notes,
    )
    if sent == len(found):
        return 0
    print("tandem: some calls are not sent yet; `tandem outbox` shows why", file=sys.stderr)
    return 1


def cmd_demo(_settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.demo import NotADemoDatabase, run_demo

    problem = output_problem(args.db, "demo database") or output_problem(args.chart, "chart")
    if problem:
        print(f"tandem: {problem}", file=sys.stderr)
        return 1
    try:
        return run_demo(args.db, args.chart, utcnow())
    except NotADemoDatabase as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 1
