"""Quick answers: a request first tried on the event loop's own thread, given up the moment it would wait or
run long, and then run on a worker as before.

Handing a request to a worker thread and its frames back to the loop takes the interpreter lock several times
(a worker's wake-up, the loop's wake-up, each a wait while another thread holds the lock). While a bulk load
ran in the same process those hand-overs, not the read itself, were most of a point read's time: measured
inside the worker a ``g.V(id).valueMap()`` took 0.38 ms at the median, from the frame's arrival to its answer
2.7 ms. A read that is done within :data:`BUDGET_S` is answered with no hand-over at all.

Giving up is :class:`GaveUp`, a ``BaseException``: the request's own error handling (which turns every
``Exception`` into an error frame) lets it through, and a transaction rolls back on it as on any other. So an
attempt that gives up has sent nothing and kept nothing, and the worker runs the request from its start. What
gives up:

* the time: the traversal's deadline checks (:meth:`Context.tick`) see the budget's end;
* a wait: a read that would wait for a writer's lock (:mod:`rwlock`) or read a snapshot (its SQLite reads);
* what may write, sessions and scripts (:meth:`GremlinProtocol.handle` says so before it runs them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

#: how long a request may run on the loop before it goes to a worker (other connections wait meanwhile)
BUDGET_S = 0.002
#: the largest request frame tried on the loop (decoding a large one is itself long work)
MOST_BYTES = 64 * 1024

T = TypeVar("T")

_deadline: ContextVar[float | None] = ContextVar("quick_deadline", default=None)


class GaveUp(BaseException):  # noqa: N818 - not an error: the request goes to a worker
    """The attempt stops here; the request runs on a worker instead."""


def attempt(work: Callable[[], T], budget_s: float | None = None) -> T | None:
    """``work()``'s result, or ``None`` if it gave up (then it has had no effect); ``budget_s`` defaults to
    :data:`BUDGET_S`."""
    token = _deadline.set(time.monotonic() + (BUDGET_S if budget_s is None else budget_s))
    try:
        return work()
    except GaveUp:
        return None
    finally:
        _deadline.reset(token)


def deadline() -> float | None:
    """When the attempt under way must give up (``None``: no attempt, a worker's run)."""
    return _deadline.get()


def attempting() -> bool:
    return _deadline.get() is not None


def give_up_if_attempting() -> None:
    """Raise :class:`GaveUp` in an attempt: what comes next would wait, write or run long."""
    if attempting():
        raise GaveUp


def give_up_if_over() -> None:
    """Raise :class:`GaveUp` if the attempt's budget has run out."""
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit:
        raise GaveUp
