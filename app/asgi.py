"""What hypercorn serves: ``hypercorn app.asgi:app`` (see Procfile)."""

from app import create_app, wsbuffer

wsbuffer.install()  # oversized websocket frames are refused without being buffered
app = create_app()
