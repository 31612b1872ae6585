"""`tandem demo` shows a newcomer what leaders get, with no Slack workspace and no token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main


def test_the_demo_builds_its_own_database_and_prints_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("TANDEM_DATABASE_URL", f"sqlite:///{tmp_path / 'real.db'}")
    database, chart = tmp_path / "demo.db", tmp_path / "chart.png"
    assert main(["demo", "--db", str(database), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert database.exists() and not (tmp_path / "real.db").exists()
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "Interdependence balance: Marketing + IT, March 2025" in out
    assert "Headline: RED" in out
    share = re.search(r"Give share\s+Marketing (\d+)% · IT (\d+)%", out)
    assert share is not None and int(share.group(1)) < 35  # Marketing takes more than it gives
    assert "Marketing hosts the next two shadowing rounds" in out
    assert "/tandem balance" in out
    assert "Joint KPIs" in out and "Campaign launch lead time" in out
    assert "How the collaboration feels" in out and "46 %" in out
    assert "IT: 14 % effective, and IT gives 74 % of the help" in out
    assert "UMKT03" not in out  # a raw id in a comment is removed like a name
    # The member's own view names the other team on both sides, as /tandem balance does.
    assert "You gave IT " in out and "IT gave you " in out and "You received" not in out
    # Seeded: a second run replaces the database and prints the same thing.
    assert main(["demo", "--db", str(database), "--chart", str(chart)]) == 0
    assert capsys.readouterr().out == out


def test_the_demo_output_in_the_docs_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    docs = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text()
    table = out[out.index("== Marketing ↔ IT ==") : out.index("What one Marketing member")]
    assert table.strip() in docs
    member = out[out.index("What one Marketing member") : out.index("Chart written")]
    assert member.strip() in docs
