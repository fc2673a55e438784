"""The fake LINE Messaging API answers line-bot-sdk's client as LINE does and records it."""

from __future__ import annotations

import uuid

import pytest
from linebot.v3.messaging import (  # type: ignore[import-untyped]
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException  # type: ignore[import-untyped]

from tests.fakes.line_api import PUSH, REPLY, FakeLineApi


async def test_reply_and_push_are_recorded_with_headers_and_json() -> None:
    with FakeLineApi(access_token="tok") as line:
        config = Configuration(host=line.base_url, access_token="tok")
        async with AsyncApiClient(config) as client:
            api = AsyncMessagingApi(client)
            token = uuid.uuid4().hex
            await api.reply_message(
                ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="สวัสดี")])
            )
            with pytest.raises(ApiException) as used:  # a reply token works once
                await api.reply_message(
                    ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="x")])
                )
            retry = str(uuid.uuid4())
            push = PushMessageRequest(to="U" + "a" * 32, messages=[TextMessage(text="แจ้ง")])
            await api.push_message(push, x_line_retry_key=retry)
            with pytest.raises(ApiException) as repeated:  # the retry key was accepted
                await api.push_message(push, x_line_retry_key=retry)
        assert used.value.status == 400 and "Invalid reply token" in str(used.value.body)
        assert repeated.value.status == 409
        [reply] = line.replies()
        assert reply.path == REPLY and reply.json["replyToken"] == token
        assert reply.headers["authorization"] == "Bearer tok"
        assert reply.texts() == ["สวัสดี"]
        [pushed] = line.pushes()
        assert pushed.path == PUSH and pushed.json["to"] == "U" + "a" * 32
        assert pushed.headers["x-line-retry-key"] == retry
        assert line.sent_texts() == ["สวัสดี", "แจ้ง"]
        assert len(line.calls) == 4


async def test_wrong_token_and_forced_failures() -> None:
    with FakeLineApi(access_token="right") as line:
        async with AsyncApiClient(Configuration(host=line.base_url, access_token="wrong")) as c:
            with pytest.raises(ApiException) as refused:
                await AsyncMessagingApi(c).push_message(_push("x"))
        assert refused.value.status == 401
        line.fail_next(503, times=1)
        async with AsyncApiClient(Configuration(host=line.base_url, access_token="right")) as c:
            api = AsyncMessagingApi(c)
            with pytest.raises(ApiException) as failed:
                await api.push_message(_push("x"))
            await api.push_message(_push("y"))
        assert failed.value.status == 503
        assert line.sent_texts() == ["y"] and [c.status for c in line.calls] == [401, 503, 200]


def _push(text: str) -> PushMessageRequest:
    return PushMessageRequest(to="U1", messages=[TextMessage(text=text)])
