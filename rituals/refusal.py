"""A member asked for something Tandem will not do, and nothing was changed.

Every feature says so with this one type: returned where the caller branches
on the outcome, raised where it ends a request part-way. It is an exception
so that both work; catching it is always a refusal, never a bug.
"""

from __future__ import annotations

from collections.abc import Mapping


class Refusal(Exception):
    """`message` is what the member reads (mrkdwn, user text already escaped).

    `field` names the part of a form the message is about; `errors` holds one
    message per form block, for a modal's inline errors; `hint` is a next step
    shown below the message; `names` maps Slack ids to names, so the message
    can be written without markup where mentions do not render (modal errors).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        names: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        self.names = dict(names) if names is not None else None
        self.errors = dict(errors) if errors is not None else {}

    @classmethod
    def inline(cls, errors: Mapping[str, str]) -> Refusal:
        """A modal's inline errors by block id; the first is the message."""
        if not errors:
            raise ValueError("an inline refusal needs at least one error")
        return cls(next(iter(errors.values())), errors=errors)
