"""The `tandem` command line: one line for every mistake, and commands that work as printed.

Failures that must not show a traceback run the real program in a subprocess,
so what is asserted is exactly what a person sees in the terminal.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import _configure_logging, main
from bot.settings import load_settings
from storage.migrate import head_revision
from tests.fakes import FakeSlack
from tests.fakes.slack_api import APP_TOKEN, DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# A PostgreSQL URL where nothing listens: a database server that is down.
DOWN_POSTGRES = "postgresql://postgres@127.0.0.1:1/tandem"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**values: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))}
    return {**base, "PYTHONPATH": str(ROOT), **values}


def _tandem(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line on stderr; fails on a traceback or anything more."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tandem: ")
    return lines[0]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "TANDEM_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    yield slack
    slack.stop()


# --- settings ---------------------------------------------------------------------------


def test_empty_values_mean_unset_in_env_dotenv_and_code(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("SLACK_APP_TOKEN=\nSLACK_SIGNING_SECRET=\nTANDEM_PORT=\n")
    s = load_settings()
    assert (s.slack_app_token, s.slack_signing_secret, s.port) == (None, None, 3000)
    assert not s.socket_mode
    clean_env.setenv("SLACK_APP_TOKEN", "")
    clean_env.setenv("TANDEM_ADMIN_USER_IDS", "")
    assert not load_settings().socket_mode
    assert load_settings().admin_user_ids == frozenset()
    assert load_settings(SLACK_APP_TOKEN="  ", SLACK_BOT_TOKEN="").slack_bot_token is None


def test_env_example_as_shipped_runs_over_http_with_bot_token_and_signing_secret(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    example = (ROOT / ".env.example").read_text()
    assert "\nSLACK_APP_TOKEN=\n" in example  # shipped empty: HTTP unless filled in
    filled = example.replace("SLACK_BOT_TOKEN=xoxb-your-bot-token", "SLACK_BOT_TOKEN=xoxb-1")
    filled = filled.replace("\nSLACK_SIGNING_SECRET=\n", "\nSLACK_SIGNING_SECRET=abc\n")
    (tmp_path / ".env").write_text(filled)
    s = load_settings()
    s.require_slack_credentials()
    assert not s.socket_mode
    assert s.slack_signing_secret is not None


# --- doctor -------------------------------------------------------------------------------


def _doctor(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **values: str
) -> tuple[int, list[str]]:
    for name, value in values.items():
        env.setenv(name, value)
    code = main(["doctor"])
    return code, capsys.readouterr().out.splitlines()


def test_doctor_checks_the_app_level_token(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    base = {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_API_URL": fake.url,
        "TANDEM_DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
    }
    for name, value in base.items():
        clean_env.setenv(name, value)
    assert main(["migrate"]) == 0
    capsys.readouterr()

    code, lines = _doctor(clean_env, capsys, SLACK_APP_TOKEN=APP_TOKEN)
    assert code == 0, lines
    assert any(line.startswith("[ok  ] socket mode: apps.connections.open ok") for line in lines)
    assert fake.calls_to("apps.connections.open")

    code, lines = _doctor(clean_env, capsys, SLACK_APP_TOKEN="xapp-revoked")
    assert code == 1
    failed = [line for line in lines if line.startswith("[FAIL] socket mode")]
    assert len(failed) == 1 and "invalid_auth" in failed[0] and "SLACK_APP_TOKEN" in failed[0]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://tandem:secret@db.internal/tandem", "mysql is not supported"),
        (DOWN_POSTGRES, "Connection refused"),
    ],
)
def test_doctor_explains_a_bad_database_url_in_one_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, fragment: str
) -> None:
    code, lines = _doctor(clean_env, capsys, TANDEM_DATABASE_URL=url)
    assert code == 1
    database = [line for line in lines if "database" in line.split(":")[0]]
    assert len(database) == 1 and database[0].startswith("[FAIL] database:")
    assert fragment in database[0]
    assert "secret" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nonsense", "TANDEM_DATABASE_URL is invalid: not a database URL"),
        ("mysql://tandem:secret@db/tandem", "TANDEM_DATABASE_URL is invalid: mysql is not"),
    ],
)
def test_a_malformed_database_url_is_one_line_for_every_command(
    tmp_path: Path, url: str, fragment: str
) -> None:
    for command in (["migrate"], ["outbox"], ["digest", "--partnership", "x"]):
        done = _tandem(command, tmp_path, TANDEM_DATABASE_URL=url)
        assert done.returncode == 2
        line = _one_line(done)
        assert fragment in line and "secret" not in line


# --- one line, never a traceback ----------------------------------------------------------


def test_migrate_against_a_down_database_is_one_line(tmp_path: Path) -> None:
    done = _tandem(["migrate"], tmp_path, TANDEM_DATABASE_URL=DOWN_POSTGRES)
    assert done.returncode == 1
    line = _one_line(done)
    assert "cannot reach the database at postgresql" in line
    assert "TANDEM_DATABASE_URL" in line


def test_migrate_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    first = _tandem(["migrate"], tmp_path, TANDEM_DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from none to {head_revision()}" in first.stdout
    again = _tandem(["migrate"], tmp_path, TANDEM_DATABASE_URL=url)
    assert f"already at {head_revision()}" in again.stdout and "upgraded" not in again.stdout


@pytest.mark.postgres
def test_migrate_says_what_it_did_on_postgres(postgres_database: str, tmp_path: Path) -> None:
    done = _tandem(["migrate"], tmp_path, TANDEM_DATABASE_URL=postgres_database)
    assert done.returncode == 0, done.stderr
    assert f"already at {head_revision()}" in done.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("tandem ") and out.split()[1][0].isdigit()


def _migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/t.db"
    assert _tandem(["migrate"], tmp_path, TANDEM_DATABASE_URL=url).returncode == 0
    return url


def test_run_with_slack_unreachable_is_one_line(tmp_path: Path) -> None:
    url = _migrated(tmp_path)
    done = _tandem(
        ["run"],
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=f"http://127.0.0.1:{_closed_port()}/api/",
        TANDEM_DATABASE_URL=url,
    )
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1" in _one_line(done)


def test_run_with_a_rejected_token_is_one_line(tmp_path: Path, fake: FakeSlack) -> None:
    url = _migrated(tmp_path)
    common = {"SLACK_API_URL": fake.url, "TANDEM_DATABASE_URL": url}
    done = _tandem(
        ["run"], tmp_path, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET="s", **common
    )
    assert done.returncode == 1
    assert "auth.test answered invalid_auth" in _one_line(done)
    # Socket Mode: the app-level token is asked about before connecting.
    done = _tandem(
        ["run"], tmp_path, SLACK_BOT_TOKEN=DEFAULT_TOKEN, SLACK_APP_TOKEN="xapp-revoked", **common
    )
    assert done.returncode == 1
    assert "apps.connections.open answered invalid_auth" in _one_line(done)


def test_run_on_a_busy_port_is_one_line_and_never_says_serving(
    tmp_path: Path, fake: FakeSlack
) -> None:
    url = _migrated(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _tandem(
            ["run"],
            tmp_path,
            SLACK_BOT_TOKEN=DEFAULT_TOKEN,
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=fake.url,
            TANDEM_DATABASE_URL=url,
            TANDEM_HOST="127.0.0.1",
            TANDEM_PORT=str(port),
        )
    assert done.returncode == 2
    line = _one_line(done)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "TANDEM_PORT" in line
    assert "serving" not in done.stdout + done.stderr


def test_a_chart_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "chart.png"
    demo = _tandem(["demo", "--chart", str(missing)], tmp_path)
    assert demo.returncode == 1
    assert "the folder" in _one_line(demo) and "does not exist" in _one_line(demo)
    assert not (tmp_path / "tandem-demo.db").exists()  # nothing built before the check
    url = _migrated(tmp_path)
    digest = _tandem(
        ["digest", "--partnership", "x", "--chart", str(missing)],
        tmp_path,
        TANDEM_DATABASE_URL=url,
    )
    assert digest.returncode == 1
    assert "does not exist" in _one_line(digest)


def test_a_pipe_closed_early_stops_quietly(tmp_path: Path) -> None:
    """`tandem demo | head -1`: the reader is gone before the output is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo"],
        env=_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away at once
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert stderr == ""
    assert proc.returncode == 1


# --- tandem demo never destroys data it did not create -----------------------------------


def test_demo_refuses_to_overwrite_a_real_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "tandem.db"
    clean_env.setenv("TANDEM_DATABASE_URL", f"sqlite:///{real}")
    assert main(["migrate"]) == 0
    with sqlite3.connect(real) as conn:
        conn.execute(
            "INSERT INTO workspace (slack_team_id, name, created_at) VALUES ('T1', 'Real', '2025-01-01')"
        )
    before = real.read_bytes()
    capsys.readouterr()

    assert main(["demo", "--db", str(real), "--chart", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert "is not a Tandem demo database" in err and len(err.strip().splitlines()) == 1
    assert real.read_bytes() == before
    assert not (tmp_path / "c.png").exists()

    text = tmp_path / "notes.db"
    text.write_text("my notes")
    assert main(["demo", "--db", str(text)]) == 1
    assert text.read_text() == "my notes"


def test_demo_replaces_its_own_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch
) -> None:
    from storage.demo_file import is_demo_file

    database = tmp_path / "demo.db"
    assert main(["demo", "--db", str(database)]) == 0
    assert is_demo_file(database)
    assert main(["demo", "--db", str(database)]) == 0


# --- the commands in the docs work as written ---------------------------------------------


def _without_venv_on_path() -> dict[str, str]:
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))}
    env.pop("VIRTUAL_ENV", None)
    return {**env, "PATH": path}


@pytest.mark.skipif(not (VENV_BIN / "tandem").exists(), reason="tandem is not installed")
def test_the_demos_explore_line_works_when_pasted(tmp_path: Path) -> None:
    env = _without_venv_on_path()
    demo = subprocess.run(
        [str(VENV_BIN / "tandem"), "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    explore = next(line for line in demo.stdout.splitlines() if line.startswith("Explore it: "))
    pasted = explore.removeprefix("Explore it: ")
    done = subprocess.run(
        ["bash", "-c", pasted], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (pasted, done.stderr)
    assert json.loads(done.stdout)["partnership"] == "Marketing + IT"
    assert shlex.split(pasted)[1] != "tandem"  # not on PATH here, so the line names the script


def _make_dry_run(target: str, tmp_path: Path, *args: str) -> str:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    done = subprocess.run(
        ["make", "-n", target, *args], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_no_test_extras_and_make_test_does(tmp_path: Path) -> None:
    run = _make_dry_run("run", tmp_path)
    assert "pip install --quiet -e ." in run and "[test]" not in run
    assert _make_dry_run("test", tmp_path).count("[test]") == 1


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_targets_for_the_common_commands(tmp_path: Path) -> None:
    assert ".venv/bin/tandem doctor" in _make_dry_run("doctor", tmp_path)
    digest = _make_dry_run("digest", tmp_path, "ARGS=--partnership X --month 2025-03")
    assert ".venv/bin/tandem digest --partnership X --month 2025-03" in digest
    assert ".venv/bin/tandem outbox" in _make_dry_run("tandem", tmp_path, "ARGS=outbox")


def test_readme_says_how_to_type_tandem() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "source .venv/bin/activate" in readme
    assert "make doctor" in readme and "make digest ARGS=" in readme


# --- quiet logs and repository basics -----------------------------------------------------


def test_apscheduler_says_nothing_per_tick_at_the_default_level() -> None:
    root, scheduler_log = logging.getLogger(), logging.getLogger("apscheduler")
    before = root.level
    try:
        _configure_logging(load_settings(_env_file=None))
        root.setLevel(logging.INFO)  # as basicConfig leaves it when no test runner is around
        # APScheduler logs "Running job …" and "… executed successfully" here at INFO.
        assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
        assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.WARNING)
        scheduler_log.setLevel(logging.NOTSET)
        _configure_logging(load_settings(_env_file=None, TANDEM_LOG_LEVEL="DEBUG"))
        assert scheduler_log.level == logging.NOTSET  # DEBUG shows everything
    finally:
        scheduler_log.setLevel(logging.NOTSET)
        root.setLevel(before)


def test_license_is_mit_in_the_modern_form() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # A table (`{ text = "MIT" }`) is deprecated by setuptools and warns on every install.
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_generated_files_are_ignored_by_git() -> None:
    for name in ("tandem-demo-chart.png", "tandem-demo.db", "tandem.db", "march.db"):
        done = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, timeout=30
        )
        assert done.returncode == 0, f"{name} is not ignored"
