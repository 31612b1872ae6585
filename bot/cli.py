"""The `tandem` command: run, web, worker, migrate, doctor, outbox, jobs, digest, demo.

A wrong or missing setting ends the program with one line naming it and
exit code 2; a database or Slack that does not answer, a file that cannot
be written or a reader that went away ends it with one line and exit code 1.
No traceback reaches the terminal for a mistake a person can fix.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.digest_cli import cmd_demo, cmd_digest, demo_arguments, digest_arguments
from bot.settings import Settings, SettingsError, load_settings
from rituals.slack_text import record_id

EXIT_CONFIG = 2
EXIT_FAILED = 1
# Commands that open TANDEM_DATABASE_URL (doctor checks it itself; demo has its own file).
DATABASE_COMMANDS = frozenset({"run", "migrate", "worker", "outbox", "jobs", "digest"})


class StartError(Exception):
    """Something outside the settings stops the command; str(self) is the one line to print."""


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
    # APScheduler says "Running job …" and "… executed successfully" at INFO on every tick.
    if settings.log_level != "DEBUG":
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    def revision() -> str | None:
        engine = make_engine(settings.database_url)
        try:
            return current_revision(engine)
        finally:
            engine.dispose()

    before = revision()
    upgrade(settings.database_url)
    after = revision()
    where = _describe_db(settings.database_url)
    if before == after:
        print(f"{where}: already at {after}, the latest schema")
    else:
        print(f"{where}: upgraded from {before or 'none'} to {after}, the latest schema")
    return 0


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    settings.require_slack_credentials()
    _require_migrated(settings)
    _require_slack(settings)
    from bot import server

    if settings.socket_mode:
        server.serve_socket_mode(settings)
    else:
        try:
            server.serve_http(settings, with_worker=settings.scheduler_enabled)
        except server.PortInUse as exc:
            raise SettingsError(str(exc)) from None
    return 0


def cmd_web(settings: Settings, _args: argparse.Namespace) -> int:
    settings.require_slack_credentials()
    if settings.socket_mode:
        raise SettingsError(
            "tandem web serves HTTP; unset SLACK_APP_TOKEN, or use `tandem run` for Socket Mode."
        )
    _require_migrated(settings)
    from bot import server

    try:
        server.serve_http(settings, with_worker=False)
    except server.PortInUse as exc:
        raise SettingsError(str(exc)) from None
    return 0


def _require_slack(settings: Settings) -> None:
    """Ask Slack once before starting, so a rejected token is one line, not a traceback per worker."""
    from bot.doctor import app_token_check, bot_token_check

    checks = [bot_token_check(settings)]
    if settings.socket_mode:
        checks.append(app_token_check(settings))
    for check in checks:
        if not check.ok:
            raise StartError(f"cannot start ({check.name}): {check.detail}")


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
    _require_bot_token(settings)
    _require_migrated(settings)
    from bot import server

    server.run_worker(settings)
    return 0


def cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.jobs import job_listing
    from bot.outbox.report import outbox_listing, requeued_line
    from storage import jobs, outbox
    from storage.db import make_engine, make_session_factory, transaction

    _require_migrated(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        if args.outbox_action == "retry":
            raw = str(args.row_id)
            if record_id(raw) is None:
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
            job_lines = job_listing(
                jobs.counts(session),
                jobs.rows(session, (jobs.JobState.PENDING, jobs.JobState.DEAD)),
            )
        print(listing)
        print(job_lines)
        return 0
    finally:
        engine.dispose()


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.jobs import job_listing
    from storage import jobs
    from storage.db import make_engine, make_session_factory, transaction

    _require_migrated(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        if args.jobs_action == "retry":
            if args.all_dead == (args.job_id is not None):
                print("tandem: give one job ID or --all-dead", file=sys.stderr)
                return 1
            if args.all_dead:
                with transaction(sessions) as session:
                    revived = jobs.requeue_dead(session, utcnow())
                print(
                    f"re-queued {len(revived)} dead job(s)"
                    + (f": {', '.join(map(str, revived))}" if revived else "")
                )
                return 0
            raw = str(args.job_id)
            if record_id(raw) is None:
                print(f"tandem: {raw!r} is not a job id; `tandem jobs` lists them", file=sys.stderr)
                return 1
            with transaction(sessions) as session:
                done = jobs.requeue(session, int(raw), utcnow())
            if not done:
                print(
                    f"tandem: job {raw} is not dead (or does not exist); only dead jobs retry",
                    file=sys.stderr,
                )
                return 1
            print(f"re-queued job {raw}: pending, due now")
            return 0
        with sessions() as session:
            listing = job_listing(
                jobs.counts(session),
                jobs.rows(session, (jobs.JobState.PENDING, jobs.JobState.DEAD)),
            )
        print(listing)
        return 0
    finally:
        engine.dispose()


def _jobs_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="jobs_action", metavar="ACTION")
    retry = actions.add_parser(
        "retry",
        help="re-queue a dead job, or every dead job",
        description="Re-queue dead jobs: pending, attempts 0, due now.",
    )
    retry.add_argument(
        "job_id", nargs="?", metavar="ID", help="the job id that `tandem jobs` shows"
    )
    retry.add_argument("--all-dead", action="store_true", help="re-queue every dead job")


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
    "run": (
        "start the bot on one machine: web and worker (HTTP, or Socket Mode when "
        "SLACK_APP_TOKEN is set)",
        cmd_run,
    ),
    "web": ("serve Slack's HTTP requests only (run `tandem worker` beside it)", cmd_web),
    "migrate": ("upgrade the database to the latest schema", cmd_migrate),
    "doctor": (
        "check settings, database and the Slack token, and say how to fix problems",
        cmd_doctor,
    ),
    "worker": (
        "run the tick, the outbox senders and the job runners until stopped (SIGTERM or Ctrl-C)",
        cmd_worker,
    ),
    "outbox": (
        "list pending, retrying and dead outbox rows; `outbox retry ID` re-queues a dead one",
        cmd_outbox,
    ),
    "jobs": (
        "list pending and dead jobs; `jobs retry ID` or `jobs retry --all-dead` re-queues",
        cmd_jobs,
    ),
    "digest": ("print a partnership's monthly balance (--json, --chart FILE, --post)", cmd_digest),
    "demo": ("show what leaders get, on a made-up organisation (no Slack needed)", cmd_demo),
}
# Commands that take arguments of their own.
ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"outbox": _outbox_arguments}
ARGUMENTS["jobs"] = _jobs_arguments
ARGUMENTS["digest"] = digest_arguments
ARGUMENTS["demo"] = demo_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: rituals between teams, in Slack."
    )
    parser.add_argument("--version", action="version", version=f"tandem {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, _) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        if name in ARGUMENTS:
            ARGUMENTS[name](command)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tandem")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        _configure_logging(settings)
        if args.command in DATABASE_COMMANDS:
            _require_usable_url(settings)
        _, command = COMMANDS[args.command]
        return command(settings, args)
    except SettingsError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`tandem digest | head`): stop quietly, as other tools do.
        _silence_stdout()
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = _database_failure(exc, settings)
        if line is None:
            raise
        print(f"tandem: {line}", file=sys.stderr)
        return EXIT_FAILED


def _require_usable_url(settings: Settings) -> None:
    from storage.db import url_problem

    problem = url_problem(settings.database_url)
    if problem:
        raise SettingsError(f"TANDEM_DATABASE_URL is invalid: {problem}.")


def _database_failure(exc: Exception, settings: Settings | None) -> str | None:
    """One line for a database that does not answer, or None when `exc` is something else."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if settings is None or not isinstance(exc, OperationalError | InterfaceError):
        return None
    reason = str(exc.orig or exc).strip().splitlines()
    return (
        f"cannot reach the database at {_describe_db(settings.database_url)}"
        f" ({reason[0] if reason else type(exc).__name__}); check TANDEM_DATABASE_URL "
        "and that the database server is running"
    )


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
