"""Work shared by the sockets that see the same thing, once per hint.

Fifty tabs on the same inbox (two staff members, or one person's many tabs) would
each run the same queries and render the same rows for every message. Instead the
first socket to need a result computes it and the others, with the same key in the
same *generation*, await that one computation. A generation ends with every hint
the broker hears, so nothing is served from before the change that woke a socket:
a socket woken again by a later hint computes afresh.

Keys must hold everything a result depends on: who may see what (``visibility``),
the page's view, the cursor, and for rendered frames the time zone and language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from channels.chat.broker import broker

_generation: tuple = ()
_results: dict[tuple, asyncio.Task] = {}


async def once(key: tuple, compute: Callable[[], Awaitable[Any]]) -> Any:
    """``compute()``'s result, computed once per key for the current generation (of
    this event loop: a restarted app in the same process starts afresh)."""
    global _generation, _results
    generation = (id(asyncio.get_running_loop()), broker.generation)
    if _generation != generation:
        _generation, _results = generation, {}
    task = _results.get(key)
    if task is None:
        task = asyncio.ensure_future(compute())
        _results[key] = task
    # Shielded: one socket going away must not cancel what the others wait for.
    return await asyncio.shield(task)
