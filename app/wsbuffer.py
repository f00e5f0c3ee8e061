"""A websocket frame over the limit costs nothing to refuse (hypercorn 0.18).

hypercorn closes the socket with 1009 once a message passes
``websocket_max_message_size``, but its buffer keeps every chunk that arrives
before the close is done: one 300 MiB frame grew a worker by about 300 MB. It also
counts characters, not bytes. ``install()`` replaces the buffer's ``extend`` so it
counts bytes and, past the limit, drops what it holds and stores nothing more.
Installed by ``app.asgi`` (what hypercorn serves); a no-op if hypercorn changes.
"""

from __future__ import annotations

from io import BytesIO, StringIO


def _bounded_extend(self, event) -> None:
    from hypercorn.protocol.ws_stream import FrameTooLargeError

    data = event.data
    size = len(data.encode()) if isinstance(data, str) else len(data)
    if self.length + size > self.max_length:
        self.value = None  # refused: keep nothing of it
        self.length = self.max_length + 1
        raise FrameTooLargeError()
    if self.value is None:
        self.value = StringIO() if isinstance(data, str) else BytesIO()
    self.value.write(data)
    self.length += size


def install() -> bool:
    try:
        from hypercorn.protocol import ws_stream
    except ImportError:
        return False
    buffer = getattr(ws_stream, "WebsocketBuffer", None)
    if buffer is None or not hasattr(buffer, "extend"):
        return False
    buffer.extend = _bounded_extend
    return True
