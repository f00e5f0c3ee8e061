"""``/ws``: one websocket per signed-in tab, for htmx's websocket extension.

Handshake: the Origin must be the portal's own (PUBLIC_URL, or in plain-http
development the host asked for), else 403; the session cookie must name a live,
fully signed-in session, else 401; a client whose practice has messaging off (or a
guardian without the messages right) gets 403.

Delivery never loses a message: the page says which message id it is drawn up to
(``after``) and what it shows (``view``); on every (re)connect and on every hint
from the broker the socket reads ``id > cursor`` from the database, in id order,
sends the partials and moves the cursor (the page's ``#live-cursor`` follows, so a
reconnect resumes where the page is). A hint is only a wake-up call.

Limits: a frame over 64 KiB closes the socket (1009); more than 30 frames in 10 s
closes it (1008); a send that waits more than 10 s (a client that stopped reading)
closes it (1013, and the browser reconnects and catches up). Each socket holds one
wake-up flag and a cursor, not a queue: what it owes is in the database.
A sweep every 2 s closes sockets whose session ended (sign-out, idle or absolute
timeout, account disabled): within 5 s, at once on this process's own sign-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, g, websocket
from tortoise.expressions import Q, Subquery

from app.auth import _mark, session_cookie_name
from app.i18n import gettext as _
from app.i18n import pick_locale
from channels.chat import fragments, shared
from channels.chat.broker import broker, message_posted, thread_changed
from models import clock, conversations
from models.access import client_accesses, own_client, pick_access, staff_member_for
from models.errors import RuleError
from models.messaging import QUEUE_OF_TOPIC, Message, Thread
from models.people import StaffMember, User
from models.security import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session
from models.settings import settings_for

log = logging.getLogger("portal.live")
blueprint = Blueprint("live", __name__)

MAX_FRAME = 64 * 1024
SEND_TIMEOUT = 10.0
BATCH = 100
SWEEP_SECONDS = 2.0
RATE_FRAMES, RATE_WINDOW = 30, 10.0
CLOSE_TOO_BIG, CLOSE_POLICY, CLOSE_AGAIN = 1009, 1008, 1013
VIEWS = ("page", "threads", "thread", "inbox", "staff_thread")


def origin_allowed(origin: str, public_url: str, host: str) -> bool:
    """The portal's own origin only (cross-site websocket hijacking)."""
    if not origin:
        return False
    public = urlsplit(public_url)
    wanted = {f"{public.scheme}://{public.netloc}".lower()}
    if public.scheme == "http" and host:
        wanted.add(f"http://{host}".lower())  # development on another name or port
    return origin.rstrip("/").lower() in wanted


@dataclass
class View:
    """What the tab shows, from the page's ``#live-view`` (query string or a frame)."""

    name: str = "page"
    thread_id: int | None = None
    queue: str = ""
    show: str = "open"
    after: int = 0

    @classmethod
    def parse(cls, values) -> View:
        def number(key: str) -> int | None:
            raw = str(values.get(key, "") or "")
            return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None

        name = str(values.get("view", "") or "page")
        queue = str(values.get("queue", "") or "")
        show = str(values.get("show", "") or "open")
        return cls(
            name=name if name in VIEWS else "page",
            thread_id=number("thread"),
            queue=queue if queue in QUEUE_OF_TOPIC.values() else "",
            show=show if show in conversations.SHOW else "open",
            after=number("after") or 0,
        )


@dataclass
class Viewer:
    """Who holds the socket: a client's side (acting for ``client_id``) or staff."""

    user: User
    session_id: str
    practice_id: int
    locale: str
    tz: str
    client_id: int | None = None
    staff: StaffMember | None = None

    @property
    def client_side(self) -> bool:
        return self.staff is None

    @property
    def visibility(self) -> tuple:
        """Who sees the same threads: one client; an admin's whole practice; the
        schedulers (or billers) of a practice; a provider, alone."""
        if self.staff is None:
            return ("client", self.client_id)
        topics = conversations.topics_for(self.staff)
        if topics is None:
            return ("practice", self.practice_id)
        if self.staff.has_role("provider"):
            return ("provider", self.staff.id, tuple(topics))
        return ("topics", self.practice_id, tuple(topics))


async def _viewer() -> Viewer | Response:
    config = current_app.config["PORTAL"]
    if not origin_allowed(websocket.headers.get("Origin", ""), config.public_url, websocket.host):
        log.warning("authz_fail ws origin=%r", websocket.headers.get("Origin", "")[:100])
        return Response("origin", status=403)
    session = await Session.resume(websocket.cookies.get(session_cookie_name(), ""))
    if session is None or session.stage:
        return Response("sign in", status=401)
    user = session.user
    staff = await staff_member_for(user)
    if staff is not None:
        locale = pick_locale(user.language, websocket)
        return Viewer(
            user, session.id, staff.practice_id, locale, staff.practice.time_zone, staff=staff
        )
    own = await own_client(user)
    access = pick_access(await client_accesses(user, own=own), session.acting_client_id)
    if access is None or not access.allows("messages"):
        return Response("no messages", status=403)
    if not (await settings_for(access.client))["messaging"]:
        return Response("messaging off", status=403)
    locale = pick_locale(own.preferred_language if own else user.language, websocket)
    client = access.client
    return Viewer(
        user, session.id, client.practice_id, locale, client.time_zone, client_id=client.id
    )


@dataclass(eq=False)
class Connection:
    viewer: Viewer
    view: View
    cursor: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    changed_threads: set[int] = field(default_factory=set)
    redraw_badges: bool = True  # at connect, and after a view change
    settle: bool = False  # badges and cursor owed once the frames are sent
    shown_thread_touched: bool = False  # the thread on screen got messages: mark read
    close_code: int | None = None
    close_reason: str = ""
    check_session: bool = False

    # ---- hints from the broker (synchronous: set flags, never await) ----

    def hear(self, event: dict) -> None:
        kind = event.get("kind")
        if kind == "poll":
            self.wake.set()
        elif kind == "session":
            if event.get("user_id") == self.viewer.user.id:
                self.check_session = True
                self.wake.set()
        elif not self._concerns(event):
            return
        elif kind == "message":
            if int(event.get("message_id", 0)) > self.cursor:
                self.wake.set()
        elif kind == "thread" and not self.viewer.client_side:
            self.changed_threads.add(int(event.get("thread_id", 0)))
            self.wake.set()

    def _concerns(self, event: dict) -> bool:
        if event.get("practice_id") != self.viewer.practice_id:
            return False
        return not self.viewer.client_side or event.get("client_id") == self.viewer.client_id

    def close(self, code: int, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.wake.set()

    # ---- what is new, from the database ----

    def _visible_messages(self):
        if self.viewer.client_side:
            return Message.filter(thread__client_id=self.viewer.client_id)
        return Message.filter(
            thread_id__in=Subquery(conversations.staff_threads(self.viewer.staff).values("id"))
        )

    def _visible_threads(self):
        if self.viewer.client_side:
            return conversations.client_threads(self.viewer.client_id)
        return conversations.staff_threads(self.viewer.staff)

    async def catch_up(self) -> list[str]:
        """The frames owed since ``cursor``, in id order; moves ``cursor``. Sockets
        that see the same things from the same cursor share one computation."""
        changed = frozenset(self.changed_threads)
        self.changed_threads.clear()
        view = (self.view.name, self.view.thread_id, self.view.queue, self.view.show)
        key = (
            "catch-up",
            self._sharing(),
            view,
            self.cursor,
            changed,
            self.viewer.tz,
            self.viewer.locale,
        )
        frames, cursor, touched = await shared.once(key, lambda: self._compute(changed))
        self.cursor = cursor
        self.settle = self.settle or bool(touched) or bool(frames) or self.redraw_badges
        self.redraw_badges = False
        self.shown_thread_touched = self.shown_thread_touched or (
            self.view.thread_id in touched and self._shows_thread(self.view.thread_id)
        )
        return list(frames)

    async def _compute(self, changed: frozenset[int]) -> tuple[list[str], int, set[int]]:
        frames: list[str] = []
        touched: set[int] = set(changed)
        cursor = self.cursor
        while True:
            batch = (
                await self._visible_messages()
                .filter(id__gt=cursor)
                .order_by("id")
                .limit(BATCH)
                .select_related("sender")
                .prefetch_related("attachments")
            )
            if not batch:
                break
            for message in batch:
                touched.add(message.thread_id)
                if self._shows_thread(message.thread_id):
                    # Each message frame moves the tab's cursor to itself: a socket
                    # that drops mid catch-up resumes after the last message it
                    # delivered, not from the start of the catch-up again.
                    frames.append(
                        fragments.message_item(
                            message, client_side=self.viewer.client_side, tz=self.viewer.tz
                        )
                        + fragments.cursor(message.id)
                    )
            cursor = batch[-1].id
            if len(batch) < BATCH:
                break
        frames.extend(await self._rows(touched))
        return frames, cursor, touched

    async def after_sent(self) -> list[str]:
        """Once the tab has the new messages: what it shows is read (never before it
        was sent: a socket dropping first leaves them unread, and emailed about),
        then the badges and the cursor."""
        if not self.settle:
            return []
        self.settle = False
        if self.shown_thread_touched:
            self.shown_thread_touched = False
            await self._mark_shown_thread_read()
        view = (self.view.name, self.view.queue, self.view.show)
        key = ("badges", self._sharing(), view, self.viewer.locale)
        frames = list(await shared.once(key, self._badges))
        frames.append(fragments.cursor(self.cursor))
        return frames

    def _sharing(self) -> tuple:
        """Whose results this socket may share: those who see the same threads; for
        "assigned to me", only the same person's other tabs."""
        if self.view.show == "mine" and self.viewer.staff is not None:
            return (*self.viewer.visibility, "mine", self.viewer.staff.id)
        return self.viewer.visibility

    def _shows_thread(self, thread_id: int) -> bool:
        wanted = "thread" if self.viewer.client_side else "staff_thread"
        return self.view.name == wanted and self.view.thread_id == thread_id

    async def _mark_shown_thread_read(self) -> None:
        viewer = self.viewer
        thread = await self._visible_threads().filter(id=self.view.thread_id).first()
        read = thread is not None and await conversations.mark_read(
            thread, by_client_side=viewer.client_side
        )
        if read and not viewer.client_side:  # other staff's unread counts change
            await thread_changed(
                thread.id, client_id=thread.client_id, practice_id=viewer.practice_id
            )

    async def _rows(self, touched: set[int]) -> list[str]:
        """The list rows of the threads touched, where the tab shows a list."""
        frames: list[str] = []
        viewer = self.viewer
        if not touched:
            return frames
        if viewer.client_side:
            if self.view.name == "threads":
                threads = (
                    await self._visible_threads()
                    .filter(id__in=touched)
                    .select_related("provider__user")
                )
                unread = await conversations.unread_by_thread(
                    [t.id for t in threads], for_client=True
                )
                for thread in sorted(threads, key=_recency):
                    frames.append(
                        fragments.client_thread_row(thread, unread=unread[thread.id], tz=viewer.tz)
                    )
            return frames
        if self.view.name == "inbox":
            shown = conversations.inbox(viewer.staff, queue=self.view.queue, show=self.view.show)
            threads = await shown.filter(id__in=touched).select_related(
                "client", "provider__user", "assigned_to__user"
            )
            unread = await conversations.unread_by_thread([t.id for t in threads], for_client=False)
            for thread in sorted(threads, key=_recency):
                frames.append(fragments.inbox_row(thread, unread=unread[thread.id], tz=viewer.tz))
            gone = touched - {t.id for t in threads}
            if gone:  # left this tab's filter; threads this person cannot see are not named
                visible = self._visible_threads().filter(id__in=gone)
                for thread_id in await visible.values_list("id", flat=True):
                    frames.append(fragments.remove_row(f"inbox-thread-{thread_id}"))
        return frames

    async def _badges(self) -> list[str]:
        viewer = self.viewer
        if viewer.client_side:
            count = await Message.filter(
                thread__client_id=viewer.client_id, from_client_side=False, read_at__isnull=True
            ).count()
            return [fragments.menu_badge("unread", count)]
        counts = await conversations.queue_counts(viewer.staff)
        frames = []
        if self.view.name == "inbox":
            frames.append(fragments.inbox_tabs(counts, queue=self.view.queue, show=self.view.show))
        frames.append(fragments.menu_badge("inbox", sum(counts.values())))
        return frames

    # ---- frames from the browser ----

    async def receive(self, raw: str | bytes) -> str | None:
        """Act on one frame; a status line to send back, if any."""
        try:
            data = json.loads(raw)
        except (TypeError, ValueError, UnicodeDecodeError):
            return _("That was not understood.")
        if not isinstance(data, dict):
            return _("That was not understood.")
        kind = data.get("type")
        if kind == "view":
            self.view = View.parse(data)
            self.cursor = self.view.after if self.view.name != "page" else self.cursor
            self.redraw_badges = True
            self.wake.set()
            return None
        if kind == "send":
            return await self._send_message(data)
        return _("That was not understood.")

    async def _send_message(self, data: dict) -> str | None:
        raw_id = str(data.get("thread", ""))
        thread = None
        if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12:
            thread = await self._visible_threads().filter(id=int(raw_id)).first()
        if thread is None:
            return _("That conversation was not found.")  # someone else's, or none
        try:
            message = await conversations.post(
                thread,
                by=self.viewer.user,
                from_client_side=self.viewer.client_side,
                body=str(data.get("body", "")),
                via="web",
            )
        except RuleError:
            return _("The message was not sent: it is empty or too long.")
        await message_posted(
            message, client_id=thread.client_id, practice_id=self.viewer.practice_id
        )
        return None


def _recency(thread: Thread):
    return (thread.last_message_at or thread.created_at).timestamp()


# ---- the registry of this process's sockets, and the session sweep ----------------

_open: set[Connection] = set()
_sweeper: asyncio.Task | None = None


async def sweep_once() -> None:
    """Close sockets whose session ended: signed out, timed out, user disabled."""
    if not _open:
        return
    now = clock.now()
    # Only the sockets open now: one that opens while the query runs (a tab reconnecting
    # after a drop) must not be judged by a session list that left its session out.
    checked = list(_open)
    ids = {c.viewer.session_id for c in checked}
    live = set(
        await Session.filter(
            Q(id__in=list(ids)),
            Q(last_seen_at__gte=now - IDLE_TIMEOUT),
            Q(created_at__gte=now - ABSOLUTE_TIMEOUT),
            Q(user__is_active=True),
            Q(stage=""),
        ).values_list("id", flat=True)
    )
    for connection in checked:
        connection.check_session = False
        if connection.viewer.session_id not in live:
            connection.close(CLOSE_POLICY, "session ended")


async def _sweep_forever() -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep_once()
        except Exception:
            log.exception("session sweep failed")


def _ensure_sweeper() -> None:
    global _sweeper
    if _sweeper is None or _sweeper.done():
        _sweeper = asyncio.get_running_loop().create_task(_sweep_forever())


async def stop_sweeper() -> None:
    global _sweeper
    if _sweeper is not None:
        _sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await _sweeper
        _sweeper = None


def open_sockets() -> int:
    return len(_open)


# ---- the endpoint --------------------------------------------------------------------


@blueprint.websocket("/ws")
async def live_socket():
    viewer = await _viewer()
    if isinstance(viewer, Response):
        return viewer
    g.locale = viewer.locale
    view = View.parse(websocket.args)
    connection = Connection(viewer, view, cursor=view.after)
    if view.name == "page":
        connection.cursor = broker.last_message_id  # nothing listed: badges only
    await websocket.accept()
    _open.add(connection)
    broker.listen(connection.hear)
    _ensure_sweeper()
    connection.wake.set()
    tasks = [asyncio.ensure_future(_read(connection)), asyncio.ensure_future(_write(connection))]
    try:
        # Either ends the socket: the browser went away (read) or we close it (write).
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        broker.unlisten(connection.hear)
        _open.discard(connection)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if connection.close_code is not None:
        with contextlib.suppress(Exception):
            await websocket.close(connection.close_code, connection.close_reason)


_mark(live_socket, "websocket")


async def _send(frame: str) -> None:
    # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that lands as
    # the send completes, and the writer then outlives its socket (gh-86296).
    async with asyncio.timeout(SEND_TIMEOUT):
        await websocket.send(frame)


async def _write(connection: Connection) -> None:
    while True:
        await connection.wake.wait()
        connection.wake.clear()
        if connection.check_session:
            await sweep_once()
        if connection.close_code is not None:
            if connection.close_code == CLOSE_POLICY and connection.close_reason == "session ended":
                with contextlib.suppress(Exception):
                    await _send(fragments.status(_("You have been signed out.")))
            return
        try:
            for frame in await connection.catch_up():
                await _send(frame)
            for frame in await connection.after_sent():
                await _send(frame)
        except TimeoutError:
            connection.close(CLOSE_AGAIN, "slow reader")
            return


async def _read(connection: Connection) -> None:
    loop = asyncio.get_running_loop()
    window_start, frames = loop.time(), 0
    while True:
        raw = await websocket.receive()
        # Bytes, not characters: 64 Ki characters of text can be 256 KiB.
        if (len(raw.encode()) if isinstance(raw, str) else len(raw)) > MAX_FRAME:
            connection.close(CLOSE_TOO_BIG, "frame too big")
            await asyncio.sleep(0)  # let the writer see it and stop
            return
        now = loop.time()
        if now - window_start > RATE_WINDOW:
            window_start, frames = now, 0
        frames += 1
        if frames > RATE_FRAMES:
            connection.close(CLOSE_POLICY, "too many frames")
            return
        reply = await connection.receive(raw)
        if reply:
            await _send(fragments.status(reply))
