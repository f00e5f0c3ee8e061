"""What hypercorn serves: ``hypercorn app.asgi:app`` (see Procfile)."""

import asyncio

from app import create_app, wsbuffer
from channels import pdf

wsbuffer.install()  # oversized websocket frames are refused without being buffered
app = create_app()


@app.after_serving
async def stop_pdf_workers() -> None:
    # The PDF worker processes (channels/pdf.py); an atexit hook is the fallback.
    await asyncio.to_thread(pdf.shutdown)
