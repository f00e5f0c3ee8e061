"""The rules of secure messaging: who sees which thread, posting, reading, the queues.

Every surface (the portal's pages, the websocket, the chat assistant, SMS) goes
through here, so a message is the same thing whichever way it came.

Ordering: a message's id is its place in the live feed. Sockets catch up with
``WHERE id > last_seen``, so ids must become visible in id order. SQLite writes one
transaction at a time (``BEGIN IMMEDIATE``); on PostgreSQL ``post`` takes a
per-practice advisory lock before inserting, so a later id never commits before an
earlier one of the same practice and nothing is skipped by a reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.messaging import (
    QUEUE_OF_TOPIC,
    TOPIC_OF_QUEUE,
    TOPICS,
    Attachment,
    Message,
    Thread,
)
from models.people import Client, Role, StaffMember, User

MAX_BODY = 5000
MAX_SUBJECT = 200
MAX_ATTACHMENTS = 5
CHAT_SUBJECT = "Chat"  # shown translated; stored as a key
ADVISORY_LOCK_CLASS = 7_401  # pg_advisory_xact_lock(class, practice_id) for message ids


# ---- what each side may see ---------------------------------------------------------


def client_threads(client_id: int) -> QuerySet[Thread]:
    return Thread.filter(client_id=client_id)


async def client_thread(client_id: int, thread_id: int) -> Thread | None:
    """The client's thread, or None (someone else's thread is as good as missing)."""
    return await Thread.filter(id=thread_id, client_id=client_id).first()


def topics_for(staff: StaffMember) -> list[str] | None:
    """The topics a staff member's inbox holds beyond their own clients' clinical
    threads; None for an admin (everything in the practice)."""
    if staff.has_role(Role.ADMIN):
        return None
    return [
        t
        for t, role in (("scheduler", Role.SCHEDULER), ("biller", Role.BILLER))
        if staff.has_role(role)
    ]


def staff_threads(staff: StaffMember) -> QuerySet[Thread]:
    """Threads this staff member may read: admins all of the practice's; providers
    their own clients' clinical threads; schedulers and billers their queue's."""
    query = Thread.filter(client__practice_id=staff.practice_id)
    topics = topics_for(staff)
    if topics is None:
        return query
    if staff.has_role(Role.PROVIDER):
        return query.filter(Q(provider_id=staff.id) | Q(topic__in=topics))
    return query.filter(topic__in=topics)


async def staff_thread(staff: StaffMember, thread_id: int) -> Thread | None:
    return await staff_threads(staff).filter(id=thread_id).first()


SHOW = ("open", "unread", "mine", "done")


def inbox(staff: StaffMember, *, queue: str = "", show: str = "open") -> QuerySet[Thread]:
    """The staff inbox: ``queue`` "clinical" | "scheduling" | "billing" | "" (all),
    ``show`` "open" | "unread" (a client message not read yet) | "mine" (assigned to
    me, open) | "done"."""
    query = staff_threads(staff)
    if queue in TOPIC_OF_QUEUE:
        query = query.filter(topic=TOPIC_OF_QUEUE[queue])
    if show == "done":
        return query.filter(status="done")
    query = query.filter(status="open")
    if show == "mine":
        query = query.filter(assigned_to_id=staff.id)
    elif show == "unread":
        query = query.filter(
            messages__from_client_side=True, messages__read_at__isnull=True
        ).distinct()
    return query


async def queues_for(staff: StaffMember) -> list[str]:
    """The inbox queues a staff member sees, in the tabs' order: their roles' queues,
    and any other holding a thread they may read (a provider's clients' chat threads
    are scheduling's)."""
    topics = topics_for(staff)
    if topics is None:
        return list(QUEUE_OF_TOPIC.values())
    held = set(topics) | ({"provider"} if staff.has_role(Role.PROVIDER) else set())
    held |= set(await staff_threads(staff).distinct().values_list("topic", flat=True))
    return [queue for topic, queue in QUEUE_OF_TOPIC.items() if topic in held]


async def queue_counts(staff: StaffMember) -> dict[str, int]:
    """Unread client messages per queue this staff member sees (for the inbox tabs):
    one key per queue of ``queues_for``, zero included."""
    counts = {queue: 0 for queue in await queues_for(staff)}
    rows = (
        await Message.filter(
            thread_id__in=Subquery(staff_threads(staff).values("id")),
            from_client_side=True,
            read_at__isnull=True,
        )
        .annotate(n=Count("id"))
        .group_by("thread__topic")
        .values_list("thread__topic", "n")
    )
    for topic, n in rows:
        queue = QUEUE_OF_TOPIC.get(topic, "scheduling")
        counts[queue] = counts.get(queue, 0) + n
    return counts


async def unread_by_thread(thread_ids: Iterable[int], *, for_client: bool) -> dict[int, int]:
    """Unread messages per thread: from the practice (``for_client``) or from the client."""
    ids = list(thread_ids)
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    rows = await Message.filter(
        thread_id__in=ids, from_client_side=not for_client, read_at__isnull=True
    ).values_list("thread_id", flat=True)
    for thread_id in rows:
        counts[thread_id] += 1
    return counts


# ---- writing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A checked message body: what ``post`` accepts."""

    body: str

    @classmethod
    def of(cls, body: str, *, attachments: int = 0) -> Draft:
        body = (body or "").replace("\r\n", "\n").strip()
        if len(body) > MAX_BODY:
            raise RuleError("message_too_long")
        if not body and not attachments:
            raise RuleError("message_empty")
        if any(ord(c) < 32 and c not in "\n\t" for c in body) or "\x7f" in body:
            raise RuleError("message_control_characters")
        return cls(body)


async def _lock_practice_feed(connection, practice_id: int) -> None:
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [ADVISORY_LOCK_CLASS, practice_id]
        )


async def post(
    thread: Thread,
    *,
    by: User | None,
    from_client_side: bool,
    body: str,
    via: str = "web",
    automated: bool = False,
    intent: str = "",
    flag: str = "",
    attachment_ids: Iterable[int] = (),
    read: bool = False,
) -> Message:
    """Add a message to ``thread`` in one transaction and return it (committed).

    The caller has already checked that ``by`` may write to this thread (it came
    from ``client_thread`` or ``staff_thread``). ``attachment_ids``: files ``by``
    uploaded for this client and not yet sent. A client's message reopens a done
    thread; a practice reply marks the client's messages read (answering is
    reading). ``read``: the message is read on arrival (the assistant's answer to a
    chat the client is looking at). Publishing to sockets is the caller's, after
    this returns: never before the commit.
    """
    ids = list(dict.fromkeys(attachment_ids))
    if len(ids) > MAX_ATTACHMENTS:
        raise RuleError("too_many_attachments")
    draft = Draft.of(body, attachments=len(ids))
    practice_id = await Client.filter(id=thread.client_id).values_list("practice_id", flat=True)
    now = clock.now()
    async with in_transaction() as connection:
        await _lock_practice_feed(connection, practice_id[0])
        if ids:
            usable = await Attachment.filter(
                id__in=ids,
                client_id=thread.client_id,
                uploaded_by_id=by.id if by else None,
                message_id__isnull=True,
            ).count()
            if usable != len(ids):
                raise RuleError("attachment_not_found")
        message = await Message.create(
            created_at=now,  # the domain's clock (models.clock), like every other time
            thread_id=thread.id,
            sender_id=by.id if by else None,
            from_client_side=from_client_side,
            body=draft.body,
            via=via,
            automated=automated,
            intent=intent[:16],
            flag=flag[:16],
            read_at=now if read else None,
            # Only the practice's messages to the client are ever emailed about.
            notified=from_client_side or read,
        )
        if ids:
            await Attachment.filter(id__in=ids).update(message_id=message.id)
        changes: dict = {"last_message_at": now}
        if from_client_side and not read and thread.status == "done":
            # Something for staff to read: the thread is back in the open list (a
            # chat the assistant settled, stored read, leaves it done).
            changes.update(status="open", done_at=None)
        await Thread.filter(id=thread.id).update(**changes)
        for key, value in changes.items():
            setattr(thread, key, value)
        if not from_client_side and not automated:
            await Message.filter(
                thread_id=thread.id, from_client_side=True, read_at__isnull=True
            ).update(read_at=now)
    return message


async def start_thread(
    client: Client,
    *,
    by: User,
    topic: str,
    subject: str,
    body: str,
    via: str = "web",
    attachment_ids: Iterable[int] = (),
) -> Message:
    """ "Ask a Question": a new thread to the client's provider, a scheduler or a
    biller, with its first message. Nothing is created if the message is refused."""
    if topic not in TOPICS:
        raise RuleError("message_topic_unknown")
    provider_id = None
    if topic == "provider":
        provider_id = client.primary_provider_id
        if provider_id is None:
            raise RuleError("message_no_provider")
    subject = " ".join((subject or "").split())
    if not subject:
        raise RuleError("message_subject_missing")
    if len(subject) > MAX_SUBJECT:
        raise RuleError("message_subject_too_long")
    ids = list(attachment_ids)
    Draft.of(body, attachments=len(ids))  # refuse before creating the thread
    async with in_transaction():
        thread = await Thread.create(
            client_id=client.id, topic=topic, provider_id=provider_id, subject=subject
        )
        return await post(
            thread, by=by, from_client_side=True, body=body, via=via, attachment_ids=ids
        )


async def chat_thread(client: Client) -> Thread:
    """The client's one chat thread (chat panel and text replies), made on first use."""
    thread = await Thread.filter(client_id=client.id, kind="chat").order_by("id").first()
    if thread is not None:
        return thread
    async with in_transaction():
        thread = await Thread.filter(client_id=client.id, kind="chat").order_by("id").first()
        if thread is None:
            thread = await Thread.create(
                client_id=client.id,
                topic="scheduler",
                provider_id=client.primary_provider_id,
                subject=CHAT_SUBJECT,
                kind="chat",
            )
    return thread


async def mark_read(thread: Thread, *, by_client_side: bool) -> int:
    """The other side's unread messages in ``thread`` are now read; how many were."""
    return await Message.filter(
        thread_id=thread.id, from_client_side=not by_client_side, read_at__isnull=True
    ).update(read_at=clock.now())


# ---- the staff inbox's actions --------------------------------------------------------


async def assign(thread: Thread, staff: StaffMember | None, *, by: StaffMember) -> Thread:
    """Give the thread to a colleague who can see it (or to nobody)."""
    if staff is not None:
        if staff.practice_id != by.practice_id or not staff.active:
            raise RuleError("assignee_unknown")
        if not await staff_threads(staff).filter(id=thread.id).exists():
            raise RuleError("assignee_cannot_see_thread")
    thread.assigned_to_id = staff.id if staff else None
    await Thread.filter(id=thread.id).update(assigned_to_id=thread.assigned_to_id)
    return thread


async def set_done(thread: Thread, done: bool) -> Thread:
    thread.status = "done" if done else "open"
    thread.done_at = clock.now() if done else None
    await Thread.filter(id=thread.id).update(status=thread.status, done_at=thread.done_at)
    return thread


async def assignable_staff(thread: Thread, practice_id: int) -> list[StaffMember]:
    """Colleagues who can see ``thread``, for the Assign menu."""
    staff = (
        await StaffMember.filter(practice_id=practice_id, active=True)
        .select_related("user")
        .order_by("user__display_name", "id")
    )
    return [s for s in staff if await staff_threads(s).filter(id=thread.id).exists()]
