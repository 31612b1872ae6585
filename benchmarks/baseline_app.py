"""The baseline for bench_ack: a bare Bolt app that answers `/tandem` in its ack."""

from __future__ import annotations

import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

app = App(
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    process_before_response=True,
)


@app.command("/tandem")
def tandem(ack) -> None:  # type: ignore[no-untyped-def]
    ack(text="Done.", response_type="ephemeral")


wsgi = SlackRequestHandler(app)
