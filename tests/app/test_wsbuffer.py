"""hypercorn's websocket buffer, bounded: a frame over the limit is refused at once and
nothing more of it is kept, counting bytes, not characters."""

from __future__ import annotations

import pytest
from hypercorn.protocol.ws_stream import FrameTooLargeError, WebsocketBuffer
from wsproto.events import BytesMessage, TextMessage

from app import wsbuffer


@pytest.fixture(autouse=True)
def bounded():
    original = WebsocketBuffer.extend
    assert wsbuffer.install()
    yield
    WebsocketBuffer.extend = original


def test_a_message_within_the_limit_is_kept_whole():
    buffer = WebsocketBuffer(64 * 1024)
    buffer.extend(TextMessage(data="a" * 1000, message_finished=False))
    buffer.extend(TextMessage(data="é" * 1000, message_finished=True))
    assert buffer.to_message()["text"] == "a" * 1000 + "é" * 1000


def test_an_oversized_frame_is_refused_and_its_rest_is_not_stored():
    buffer = WebsocketBuffer(64 * 1024)
    buffer.extend(BytesMessage(data=b"x" * 60_000, message_finished=False))
    with pytest.raises(FrameTooLargeError):
        buffer.extend(BytesMessage(data=b"x" * 60_000, message_finished=False))
    assert buffer.value is None
    for _ in range(100):  # the rest of a 6 MB frame, still arriving before the close
        with pytest.raises(FrameTooLargeError):
            buffer.extend(BytesMessage(data=b"x" * 60_000, message_finished=False))
    assert buffer.value is None


def test_the_limit_counts_bytes_not_characters():
    buffer = WebsocketBuffer(64 * 1024)
    with pytest.raises(FrameTooLargeError):
        buffer.extend(TextMessage(data="€" * 30_000, message_finished=True))  # 90,000 bytes
