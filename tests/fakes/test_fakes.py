"""The harness itself: a real slack_sdk WebClient against FakeSlack, and signed requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from http.client import RemoteDisconnected
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from tests.fakes import (
    BOT_USER_ID,
    FakeSlack,
    SlackSender,
    block_actions_payload,
    sign,
)

SECRET = "shhh-signing-secret"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_channel("C1", "marketing-it", ["U1", "U2"])
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url, retry_handlers=[])


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": "tandem_outbox", "event_payload": {"idempotency_key": key}}


# ---------------------------------------------------------------------------- recording


def test_post_message_is_recorded_with_blocks_and_metadata(
    fake: FakeSlack, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    answer = client.chat_postMessage(
        channel="C1", text="hi", blocks=blocks, metadata=_metadata("k1")
    )

    (call,) = fake.calls_to("chat.postMessage")
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.params["channel"] == "C1"
    assert call.json_param("blocks") == blocks
    assert call.json_param("metadata")["event_payload"]["idempotency_key"] == "k1"
    assert call.reply is not None and call.reply["ts"] == answer["ts"]
    assert answer["channel"] == "C1"
    assert answer["message"]["metadata"] == _metadata("k1")
    assert answer["message"]["bot_id"] == "B0001"


def test_form_encoded_values_stay_strings_and_json_param_decodes(
    fake: FakeSlack, client: WebClient
) -> None:
    client.api_call(
        "chat.postEphemeral",
        params={"channel": "C1", "user": "U1", "blocks": '[{"type": "divider"}]'},
    )

    (call,) = fake.calls_to("chat.postEphemeral")
    assert call.params["blocks"] == '[{"type": "divider"}]'
    assert call.json_param("blocks") == [{"type": "divider"}]
    assert call.ok


def test_timestamps_strictly_increase(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(5)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_unknown_method_is_answered_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("bookmarks.add", params={"channel_id": "C1"})

    assert raised.value.response["error"] == "unknown_method"
    assert raised.value.response.status_code == 200
    assert [call.method for call in fake.calls] == ["bookmarks.add"]


@pytest.mark.parametrize(("token", "error"), [(None, "not_authed"), ("xoxb-other", "invalid_auth")])
def test_token_is_checked(fake: FakeSlack, token: str | None, error: str) -> None:
    stranger = WebClient(token=token, base_url=fake.url, retry_handlers=[])

    with pytest.raises(SlackApiError) as raised:
        stranger.auth_test()

    assert raised.value.response["error"] == error


def test_auth_test_names_the_bot(client: WebClient) -> None:
    answer = client.auth_test()

    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == ("T0001", "UBOT", "B0001")


def test_wait_for_returns_once_a_background_thread_has_posted(
    fake: FakeSlack, client: WebClient
) -> None:
    worker = threading.Thread(
        target=lambda: [client.chat_postMessage(channel="C1", text=str(n)) for n in range(3)]
    )
    worker.start()

    calls = fake.wait_for("chat.postMessage", count=3)
    worker.join()

    assert [call.params["text"] for call in calls] == ["0", "1", "2"]
    with pytest.raises(AssertionError, match=r"chat\.update"):
        fake.wait_for("chat.update", timeout=0.05)


# ---------------------------------------------------------------------------- directory


def test_users_list_paginates_with_limit_and_cursor(fake: FakeSlack, client: WebClient) -> None:
    for n in range(5):
        fake.add_user(f"U{n}", name=f"person{n}", tz="Europe/Paris")

    # slack-sdk yields the same response object for every page: read it while iterating
    pages = [page["members"] for page in client.users_list(limit=2)]

    assert [len(members) for members in pages] == [2, 2, 2]  # 5 people and the bot
    ids = [member["id"] for members in pages for member in members]
    assert ids == [BOT_USER_ID, "U0", "U1", "U2", "U3", "U4"]
    cursors = [call.reply["response_metadata"]["next_cursor"] for call in fake.calls if call.reply]
    assert cursors[-1] == "" and all(cursors[:-1])


def test_users_info_has_the_fields_directory_sync_reads(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U9", name="ana", tz="Asia/Kolkata", is_restricted=True, display_name="Ana")

    user = client.users_info(user="U9")["user"]

    assert user["tz"] == "Asia/Kolkata"
    assert user["tz_offset"] == 19_800
    assert user["profile"]["display_name"] == "Ana"
    assert (user["is_restricted"], user["is_ultra_restricted"], user["is_bot"]) == (
        True,
        False,
        False,
    )
    assert user["deleted"] is False
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")


def test_usergroups_and_their_members(fake: FakeSlack, client: WebClient) -> None:
    fake.add_usergroup("S1", "marketing", ["U1", "U2"])

    groups = client.usergroups_list(include_users=True)["usergroups"]
    members = client.usergroups_users_list(usergroup="S1")["users"]

    assert [(g["id"], g["handle"], g["users"], g["user_count"]) for g in groups] == [
        ("S1", "marketing", ["U1", "U2"], 2)
    ]
    assert "users" not in client.usergroups_list()["usergroups"][0]
    assert members == ["U1", "U2"]


def test_conversations_members_paginates(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", "big", [f"U{n}" for n in range(7)], is_member=False)

    pages = [page["members"] for page in client.conversations_members(channel="C2", limit=3)]

    assert pages == [
        ["U0", "U1", "U2"],
        ["U3", "U4", "U5"],
        ["U6"],
    ]


def test_conversations_open_gives_stable_ids(client: WebClient) -> None:
    one = client.conversations_open(users="U1")["channel"]["id"]
    again = client.conversations_open(users=["U1"])["channel"]["id"]
    group = client.conversations_open(users="U2,U1")["channel"]["id"]

    assert one == again and one.startswith("D")
    assert (
        group.startswith("G") and group == client.conversations_open(users="U1,U2")["channel"]["id"]
    )


def test_posting_checks_channel_and_membership(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C3", "elsewhere", ["U1"], is_member=False)

    with pytest.raises(SlackApiError, match="not_in_channel"):
        client.chat_postMessage(channel="C3", text="x")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.chat_postMessage(channel="C404", text="x")
    dm = client.chat_postMessage(channel="U7", text="hello")

    assert dm["channel"].startswith("D")
    assert fake.messages(dm["channel"])[0]["text"] == "hello"


# ---------------------------------------------------------------------------- messages


def test_history_is_newest_first_and_honours_oldest_and_limit(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(4)]

    latest_two = client.conversations_history(channel="C1", limit=2)
    after_first = client.conversations_history(channel="C1", oldest=stamps[0])

    assert [m["text"] for m in latest_two["messages"]] == ["3", "2"]
    assert latest_two["has_more"] is True
    assert [m["ts"] for m in after_first["messages"]] == stamps[:0:-1]


def test_update_delete_permalink_and_reactions(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="draft")["ts"]

    client.chat_update(channel="C1", ts=ts, text="final")
    client.reactions_add(channel="C1", timestamp=ts, name="tada")
    link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]

    (message,) = fake.messages("C1")
    assert (message["text"], message["reactions"][0]["name"]) == ("final", "tada")
    assert link.endswith("/archives/C1/p" + ts.replace(".", ""))
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_update(channel="C1", ts="1.000001", text="x")
    client.chat_delete(channel="C1", ts=ts)
    assert fake.messages("C1") == []


def test_views_open_update_and_publish(client: WebClient) -> None:
    modal = {"type": "modal", "callback_id": "kudos", "title": {"type": "plain_text", "text": "K"}}

    opened = client.views_open(trigger_id="1.2.3", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view=modal, hash=opened["hash"])["view"]
    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    home_again = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]

    assert opened["callback_id"] == "kudos" and opened["id"].startswith("V")
    assert updated["id"] == opened["id"]
    assert home["id"] == home_again["id"]
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=opened["id"], view=modal, hash=opened["hash"])


def test_files_upload_v2_runs_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    answer = client.files_upload_v2(channel="C1", content=b"png", filename="chart.png")

    file_id = answer["file"]["id"]
    assert fake.file_bytes(file_id) == b"png"
    assert answer["file"]["mimetype"] == "image/png"
    assert [call.method for call in fake.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert fake.messages("C1")[-1]["files"][0]["id"] == file_id


# ---------------------------------------------------------------------------- faults


def test_429_then_success(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=3)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    assert raised.value.response["error"] == "ratelimited"
    assert len(fake.messages("C1")) == 1
    assert (fake.stats.ratelimited, fake.stats.posts_ok) == (1, 1)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_not_applied(fake: FakeSlack, client: WebClient, status: int) -> None:
    fake.fail_next("chat.postMessage", status=status)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == status
    assert fake.messages("C1") == []
    assert fake.stats.errors == 1


def test_error_next_answers_ok_false(fake: FakeSlack, client: WebClient) -> None:
    fake.error_next("chat.postMessage", error="is_archived")

    with pytest.raises(SlackApiError, match="is_archived"):
        client.chat_postMessage(channel="C1", text="x")

    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_dropped_connection_raises_remote_disconnected(fake: FakeSlack, client: WebClient) -> None:
    fake.drop_next("chat.postMessage")

    with pytest.raises(RemoteDisconnected):
        client.chat_postMessage(channel="C1", text="x")

    assert fake.messages("C1") == []
    assert fake.calls_to("chat.postMessage")[0].dropped
    assert fake.stats.dropped == 1


def test_drop_after_processing_leaves_the_message_and_its_metadata(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.drop_next("chat.postMessage", after_processing=True)

    with pytest.raises(RemoteDisconnected):
        client.chat_postMessage(channel="C1", text="x", metadata=_metadata("row-7"))
    with_metadata = client.conversations_history(channel="C1", include_all_metadata=True)
    without = client.conversations_history(channel="C1")

    (message,) = with_metadata["messages"]
    assert message["metadata"]["event_payload"]["idempotency_key"] == "row-7"
    assert "metadata" not in without["messages"][0]
    assert fake.duplicates() == 0


def test_default_connection_retry_reposts_after_an_ambiguous_drop(fake: FakeSlack) -> None:
    retrying = WebClient(
        token="xoxb-test",
        base_url=fake.url,
        retry_handlers=[
            ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.0))
        ],
    )
    fake.drop_next("chat.postMessage", after_processing=True)

    retrying.chat_postMessage(channel="C1", text="x", metadata=_metadata("row-8"))

    assert len(fake.messages("C1")) == 2
    assert fake.duplicates() == 1


def test_rate_limit_mode_spaces_posts_per_channel(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", "other", ["U1"])
    fake.rate_limit(per_channel_per_second=1.0)

    client.chat_postMessage(channel="C1", text="a")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="b")
    client.chat_postMessage(channel="C2", text="c")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert (fake.stats.posts_ok, fake.stats.ratelimited) == (2, 1)


def test_rate_limit_mode_has_a_workspace_ceiling(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", "other", ["U1"])
    fake.rate_limit(per_channel_per_second=None, workspace_per_second=0.5)

    client.chat_postMessage(channel="C1", text="a")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C2", text="b")

    assert raised.value.response.headers["Retry-After"] == "2"


def test_method_limits_allow_a_burst_per_minute_then_say_when(
    fake: FakeSlack, client: WebClient
) -> None:
    now = [100.0]
    fake.limit_methods({"users.list": 2}, clock=lambda: now[0])
    client.users_list()
    now[0] = 130.0
    client.users_list()
    with pytest.raises(SlackApiError) as raised:
        client.users_list()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "30"  # the first call leaves at 160
    client.users_info(user="UBOT")  # other methods are not limited
    now[0] = 160.0
    client.users_list()
    fake.limit_methods(None)
    for _ in range(5):
        client.users_list()
    assert fake.stats.ratelimited == 1


def test_duplicates_count_keys_or_channel_and_text(fake: FakeSlack, client: WebClient) -> None:
    for key in ("a", "a", "b"):
        client.chat_postMessage(channel="C1", text="same", metadata=_metadata(key))
    for _ in range(2):
        client.chat_postMessage(channel="C1", text="plain")

    assert fake.duplicates() == 2


def test_reset_forgets_calls_and_posts_but_keeps_the_directory(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.add_user("U1", name="ana")
    client.chat_postMessage(channel="C1", text="x")
    fake.fail_next("auth.test")

    fake.reset()

    assert fake.calls == [] and fake.messages("C1") == []
    assert client.auth_test()["ok"] is True
    assert client.users_info(user="U1")["user"]["name"] == "ana"


# ---------------------------------------------------------------------------- signing


def test_sign_is_accepted_by_the_sdk_verifier() -> None:
    body = b"token=x&text=kudos+%40ana"

    headers = sign(body, SECRET)

    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert sign(body, SECRET, timestamp=1)["X-Slack-Request-Timestamp"] == "1"


class _BoltBridge(BaseHTTPRequestHandler):
    """The smallest HTTP front for a Bolt app, to exercise SlackSender end to end."""

    app: App

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers: dict[str, str | Sequence[str]] = {
            key.lower(): value for key, value in self.headers.items()
        }
        answer = self.app.dispatch(BoltRequest(body=body, headers=headers))
        payload = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt_url(fake: FakeSlack) -> Iterator[tuple[str, App]]:
    app = App(client=WebClient(token="xoxb-test", base_url=fake.url), signing_secret=SECRET)
    handler = type("Bridge", (_BoltBridge,), {"app": app})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", app
    server.shutdown()
    server.server_close()
    thread.join()


def test_sender_reaches_a_bolt_app_and_its_replies_are_recorded(
    fake: FakeSlack, bolt_url: tuple[str, App]
) -> None:
    url, app = bolt_url

    @app.command("/tandem")
    def tandem(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"got {command['text']}")

    @app.action("approve")
    def approve(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        respond(f"approved {body['actions'][0]['value']}")

    @app.event("app_mention")
    def mention(say: Say, request: BoltRequest) -> None:
        say(f"retry {request.headers['x-slack-retry-num'][0]}")

    sender = SlackSender(url, SECRET, fake)
    command = sender.command("kudos @ana")
    click = block_actions_payload("approve", "yes", response_url=fake.response_url())
    action = sender.interaction(click)
    mention_event = {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1"}
    event = sender.event(mention_event, retry_num=2)
    forged = sender.raw(b"{}", {"Content-Type": "application/json", **sign(b"{}", "wrong")})

    responses = fake.wait_for("response_url", count=2)
    (said,) = fake.wait_for("chat.postMessage")
    assert (command.status, action.status, event.status, forged.status) == (200, 200, 200, 401)
    assert {call.params["text"] for call in responses} == {"got kudos @ana", "approved yes"}
    assert (said.params["channel"], said.params["text"]) == ("C1", "retry 2")
    assert fake.calls_to("auth.test")  # Bolt checked its token against the fake
