"""The `tandem` command: run, migrate, doctor.

A wrong or missing setting ends the program with one line naming it and
exit code 2; no traceback reaches the terminal for a configuration mistake.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

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
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision

    settings.require_slack_credentials()
    engine = make_engine(settings.database_url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    if current != head_revision():
        raise SettingsError(
            f"the database at {_describe_db(settings.database_url)} is not migrated: run `tandem migrate`."
        )
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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: rituals between teams, in Slack."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, _) in COMMANDS.items():
        sub.add_parser(name, help=summary, description=summary)
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
