"""What hypercorn serves: ``hypercorn app.asgi:app`` (see Procfile)."""

from app import create_app

app = create_app()
