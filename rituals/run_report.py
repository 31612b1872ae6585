"""What one run of a ritual did: how many members it reached, and who it skipped and why.

Builders fill it as they decide; an admin's run-now shows it, so a run that
prompts nobody (a standup on a non-standup day, everyone away) says so
instead of looking like it worked. Counts only: no member is named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunReport:
    reached: int = 0  # members sent something (a prompt, a nudge)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> members

    def skip(self, reason: str, count: int = 1) -> None:
        if count > 0:
            self.skipped[reason] += count

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def describe(self, reached_words: str = "prompted") -> str:
        """ "prompted 0 members; skipped 5: 3 not a standup day, 2 away" (most common first)."""
        people = "member" if self.reached == 1 else "members"
        text = f"{reached_words} {self.reached} {people}"
        if self.skipped:
            reasons = ", ".join(
                f"{count} {reason}"
                for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            text += f"; skipped {self.skipped_total}: {reasons}"
        return text
