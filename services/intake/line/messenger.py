"""Replies and pushes through line-bot-sdk's Messaging API client, at a configurable base
URL (LINE's, or a local stand-in in tests)."""

from __future__ import annotations

import aiohttp
from linebot.v3.messaging import (  # type: ignore[import-untyped]
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    LocationAction,
    MessageAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException  # type: ignore[import-untyped]

from services.intake.line.config import LineSettings
from services.intake.line.domain.conversation import Reply

MAX_MESSAGES = 5  # LINE's limit per call


class SendFailed(Exception):
    """LINE did not take the messages; ``status`` is its HTTP answer (None: no answer)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


class Messenger:
    def __init__(self, settings: LineSettings) -> None:
        assert settings.line_channel_access_token is not None
        config = Configuration(
            host=settings.line_api_base_url.rstrip("/"),
            access_token=settings.line_channel_access_token.get_secret_value(),
        )
        self._client = AsyncApiClient(config)
        self._api = AsyncMessagingApi(self._client)
        self._timeout = settings.line_api_timeout_s

    async def close(self) -> None:
        await self._client.close()

    async def reply(self, reply_token: str, replies: list[Reply]) -> None:
        request = ReplyMessageRequest(reply_token=reply_token, messages=_messages(replies))
        await self._call(self._api.reply_message(request, _request_timeout=self._timeout))

    async def push(self, user_id: str, replies: list[Reply], retry_key: str) -> None:
        """Push; the retry key makes a repeated push (after a lost answer) a no-op: LINE
        answers 409, taken here as sent."""
        request = PushMessageRequest(to=user_id, messages=_messages(replies))
        call = self._api.push_message(
            request, x_line_retry_key=retry_key, _request_timeout=self._timeout
        )
        try:
            await self._call(call)
        except SendFailed as exc:
            if exc.status != 409:
                raise

    @staticmethod
    async def _call(call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except ApiException as exc:
            raise SendFailed(exc.status, str(exc.reason)) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendFailed(None, type(exc).__name__) from None


def _messages(replies: list[Reply]) -> list[TextMessage]:
    return [
        TextMessage(text=r.text, quick_reply=_quick(r) if r.quick else None)
        for r in replies[:MAX_MESSAGES]
    ]


def _quick(reply: Reply) -> QuickReply:
    items = [
        QuickReplyItem(
            action=LocationAction(label=q.label)
            if q.text is None
            else MessageAction(label=q.label, text=q.text)
        )
        for q in reply.quick
    ]
    return QuickReply(items=items)
