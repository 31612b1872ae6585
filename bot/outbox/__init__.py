"""The outbox sender: every outbound Slack call goes out from here, exactly once."""

from bot.outbox.calls import FILES_UPLOAD_V2, METADATA_EVENT_TYPE, file_upload
from bot.outbox.failures import RetryPolicy
from bot.outbox.pacing import Pacer
from bot.outbox.pool import SenderPool, sender_client
from bot.outbox.sender import OutboxSender

__all__ = [
    "FILES_UPLOAD_V2",
    "METADATA_EVENT_TYPE",
    "OutboxSender",
    "Pacer",
    "RetryPolicy",
    "SenderPool",
    "file_upload",
    "sender_client",
]
