"""Which code builds the work of each ritual kind when its occurrences fire.

A builder runs inside the tick's transaction, after the occurrences it gets
were inserted by this replica: it writes the ritual's domain rows and its
outbox rows (storage.outbox.enqueue) in that same transaction, so either
all of it is recorded or none of it is. It is called once per ritual per
tick with every occurrence won, so 10,000 member-local prompts are one call.

A kind with no builder is never dropped silently: the tick records its
occurrences as failed, with `missing_detail` saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot.digest import build_occurrences as build_digest
from bot.kpi.checkins import build_checkins
from bot.kudos import build_kudos_prompts
from bot.pulse.asking import build_pulse
from bot.shadowing import build_shadowing_rounds
from bot.standup import build_standup
from rituals.interactions import RitualKind
from rituals.run_report import RunReport
from storage.occurrences import WonOccurrence
from storage.rituals import RitualSnapshot


class RitualBuilder(Protocol):
    def __call__(
        self,
        session: Session,
        ritual: RitualSnapshot,
        occurrences: list[WonOccurrence],
        now: datetime,
        /,
    ) -> RunReport | None:
        """Write the domain rows and outbox rows for these occurrences; raise to roll back.

        A builder that prompts members may say whom it reached and skipped
        (shown to an admin who ran the ritual by hand); the tick ignores it.
        """


class BuilderRegistry:
    """Ritual kind -> builder; one per process, or one per test."""

    def __init__(self, builders: Mapping[RitualKind, RitualBuilder] | None = None) -> None:
        self._builders: dict[str, RitualBuilder] = {}
        for kind, builder in (builders or {}).items():
            self.register(kind, builder)

    def register(self, kind: RitualKind, builder: RitualBuilder) -> None:
        if kind.value in self._builders:
            raise ValueError(f"a builder for {kind.value!r} is already registered")
        self._builders[kind.value] = builder

    def get(self, kind: str) -> RitualBuilder | None:
        return self._builders.get(kind)

    def kinds(self) -> frozenset[str]:
        return frozenset(self._builders)


def missing_detail(kind: str) -> str:
    """What admins read on an occurrence whose kind nothing can build."""
    return (
        f"No builder is registered for ritual kind {kind!r} in this version of Tandem, "
        "so nothing was sent. Upgrade, or pause the ritual."
    )


def default_registry() -> BuilderRegistry:
    """The builders the running bot uses; each ritual feature registers its own here."""
    return BuilderRegistry(
        {
            RitualKind.KUDOS_PROMPT: build_kudos_prompts,
            RitualKind.STANDUP: build_standup,
            RitualKind.SHADOWING: build_shadowing_rounds,
            RitualKind.DIGEST: build_digest,
            RitualKind.KPI_CHECKIN: build_checkins,
            RitualKind.PULSE: build_pulse,
        }
    )
