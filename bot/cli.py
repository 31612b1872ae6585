"""The `tandem` command: run, migrate, doctor, worker, outbox.

A wrong or missing setting ends the program with one line naming it and
exit code 2; no traceback reaches the terminal for a configuration mistake.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.digest_cli import cmd_demo, cmd_digest, demo_arguments, digest_arguments
from bot.settings import Settings, SettingsError, load_settings

EXIT_CONFIG = 2


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # slack_sdk logs request bodies (message text, tokens in headers) at DEBUG only;
    # keep it at INFO or above whatever the app's level is.
    logging.getLogger("slack_sdk").setLevel(
        max(logging.INFO, logging.getLevelName(settings.log_level))
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database is at the latest schema ({_describe_db(settings.database_url)})")
    return 0


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    settings.require_slack_credentials()
    _require_migrated(settings)
    from bot import server

    if settings.socket_mode:
        server.serve_socket_mode(settings)
    else:
        server.serve_http(settings)
    return 0


def cmd_doctor(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.doctor import diagnose

    problems = 0
    for check in diagnose(settings):
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        problems += not check.ok
    print("all good" if not problems else f"{problems} problem(s) found")
    return 0 if not problems else 1


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    import signal
    import threading

    from bot.outbox import SenderPool
    from bot.services import Services

    _require_bot_token(settings)
    _require_migrated(settings)
    services = Services.from_settings(settings)
    count = max(1, settings.sender_threads)
    pool = SenderPool(services.sessions, settings, count)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    pool.start()
    print(f"outbox worker: {count} sender(s) running; stop with SIGTERM or Ctrl-C", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        pool.stop()
        services.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("outbox worker stopped", flush=True)
    return 0


def cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.outbox.report import outbox_listing, requeued_line
    from storage import outbox
    from storage.db import make_engine, make_session_factory, transaction

    _require_migrated(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        if args.outbox_action == "retry":
            raw = str(args.row_id)
            if not raw.isdigit():
                print(
                    f"tandem: {raw!r} is not an outbox row id; `tandem outbox` lists them",
                    file=sys.stderr,
                )
                return 1
            try:
                with transaction(sessions) as session:
                    done = outbox.requeue(session, int(raw), utcnow())
            except outbox.NotRequeued as exc:
                print(f"tandem: {exc}", file=sys.stderr)
                return 1
            print(requeued_line(done))
            return 0
        with sessions() as session:
            listing = outbox_listing(
                outbox.counts(session),
                outbox.pending_rows(session),
                outbox.retrying_rows(session),
                outbox.dead_rows(session),
            )
        print(listing)
        return 0
    finally:
        engine.dispose()


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="outbox_action", metavar="ACTION")
    retry = actions.add_parser(
        "retry",
        help="re-queue a dead row (and the rows that waited on it)",
        description="Re-queue a dead outbox row: status pending, attempts 0, due now.",
    )
    retry.add_argument("row_id", metavar="ID", help="the row id that `tandem outbox` shows")


def _require_bot_token(settings: Settings) -> None:
    token = settings.slack_bot_token
    if token is None:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: the worker sends as the bot; copy the Bot User OAuth "
            "Token (xoxb-…) from your app's OAuth & Permissions page into .env."
        )
    if not token.get_secret_value().startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")


def _require_migrated(settings: Settings) -> None:
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision

    engine = make_engine(settings.database_url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    if current != head_revision():
        raise SettingsError(
            f"the database at {_describe_db(settings.database_url)} is not migrated: run `tandem migrate`."
        )


def _describe_db(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.render_as_string(hide_password=True)


COMMANDS: dict[str, tuple[str, Callable[[Settings, argparse.Namespace], int]]] = {
    "run": ("start the bot (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)", cmd_run),
    "migrate": ("upgrade the database to the latest schema", cmd_migrate),
    "doctor": (
        "check settings, database and the Slack token, and say how to fix problems",
        cmd_doctor,
    ),
    "worker": ("send the outbox to Slack until stopped (SIGTERM or Ctrl-C)", cmd_worker),
    "outbox": (
        "list pending, retrying and dead outbox rows; `outbox retry ID` re-queues a dead one",
        cmd_outbox,
    ),
    "digest": ("print a partnership's monthly balance (--json, --chart FILE, --post)", cmd_digest),
    "demo": ("show what leaders get, on a made-up organisation (no Slack needed)", cmd_demo),
}
# Commands that take arguments of their own.
ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"outbox": _outbox_arguments}
ARGUMENTS["digest"] = digest_arguments
ARGUMENTS["demo"] = demo_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: rituals between teams, in Slack."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, _) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        if name in ARGUMENTS:
            ARGUMENTS[name](command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        _configure_logging(settings)
        _, command = COMMANDS[args.command]
        return command(settings, args)
    except SettingsError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
