"""bot/ uses Bolt and slack-sdk through their public API only, and runs no hand-off or fork."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).parents[2] / "bot"
PRIVATE = re.compile(
    r"from slack_(?:bolt|sdk)[\w.]* import [^\n]*\b_\w+"  # a private name imported
    r"|slack_(?:bolt|sdk)(?:\.\w+)*\._\w+"  # a private module or attribute
    r"|slack_bolt\.logger"  # Bolt's internal log messages
    r"|\._build_lazy_request|lazy_only|lazy_listener"
)


def test_bot_uses_no_private_bolt_or_sdk_name_and_forks_nothing() -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        source = path.read_text()
        if PRIVATE.search(source) or "os.fork(" in source or "socketpair(" in source:
            offenders.append(str(path.relative_to(BOT.parent)))
    assert offenders == []
