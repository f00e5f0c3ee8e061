"""The background worker: its housekeeping, and a clean stop inside the web process."""

from datetime import timedelta

from app import create_app
from app.worker import purge_expired_sessions
from models import clock
from models.security import Session
from tests.conftest import make_config


async def test_it_deletes_only_expired_sessions(cast):
    _, idle = await Session.start(cast.alice.user_id, ip="", user_agent="")
    clock.travel(timedelta(minutes=10))
    _, fresh = await Session.start(cast.bob.user_id, ip="", user_agent="")
    clock.travel(timedelta(minutes=6))  # idle: 16 minutes; fresh: 6
    assert await purge_expired_sessions() == 1
    assert [s.id for s in await Session.all()] == [fresh.id]


async def test_it_stops_the_embedded_worker_with_the_server(database_url):
    app = create_app(make_config(database_url, testing=False, embedded_worker=True))
    async with app.test_app():
        tasks = list(app.background_tasks)
        assert len(tasks) == 1
    # Quart cancels background tasks that outlive its shutdown timeout; ours returns.
    assert tasks[0].done() and not tasks[0].cancelled()
