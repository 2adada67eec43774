"""Use case: the ``weekly_summary`` dispatcher, one pass over the users table a week.

The pass is a parallel ``Scan`` of the users table in ``segments`` segments, one page at a time
(``Subscribers.page``: only verified, deliverable users with ``weekly_summary`` on come back),
each user sent to the weekly-summaries queue as a ``SummaryRequest`` (ten per
``SendMessageBatch``) under a dispatch mark ``dispatch:weekly:<week>:<user_id>``, which
``weekly_summary_worker`` clears when it is done with the user.

**When a Lambda's time runs out** mid-pass, every segment not finished is queued as a
``ScanPage`` (its segment and the last key read) on the same queue; the worker that receives
one goes on from there with this same function, and queues what is left again when its own time
runs out. So a million users need no single long run: the pass continues through the queue, its
segments in parallel. Each position is queued under its own mark (kept for the week), so a page
read twice (a redelivered message) never forks the pass.

**Nothing lost, nothing twice.** A user or a position SQS refused fails the run
(``DependencyUnavailable``; the other dispatchers leave refusals to their next run, but this
one's is a week away): Lambda retries the scheduled invocation, SQS the message, and the retry
reads the pages again, finding the users already queued marked (or, once worked on, their
week's summary already queued). A user queued twice meets the week's outbox key
(``weekly_summary:<user_id>:<week>``), so a second run in the same week sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.observability import logger, metrics
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.queues import DispatchMarks, WorkQueue, queue_units
from chalicelib.weekly_summary.domain import ScanPage
from chalicelib.weekly_summary.ports import Subscribers


@dataclass(frozen=True)
class SummaryDispatchOptions:
    """Tunables of a pass (defaults suit AWS; tests shrink them)."""

    # Parallel scan segments: each is a chain of pages, continued by its own messages.
    segments: int = 4
    # Items DynamoDB reads per page (the Scan's Limit, before the filter).
    page_size: int = 500
    # A user's mark lasts until the worker is done with them; the expiry only bounds a mark
    # left behind, as for the other dispatchers.
    mark_ttl_seconds: int = 6 * 3600
    # A position's mark outlives the week, so no redelivery queues the same page twice.
    position_mark_ttl_seconds: int = 8 * 24 * 3600


@dataclass
class _Tally:
    pages: int = 0
    found: int = 0
    dispatched: int = 0
    already_queued: int = 0
    refused: int = 0


def _dispatch_page(
    subscribers: Subscribers,
    queue: WorkQueue,
    marks: DispatchMarks,
    position: ScanPage,
    options: SummaryDispatchOptions,
    tally: _Tally,
    pending: list[str] | None,
) -> str:
    """Queue the users of the page at ``position``; the key to go on after ("" at the end)."""
    users, after = subscribers.page(
        position.segment, position.segments, position.after, options.page_size
    )
    units = {request.mark_key: request for request in map(position.request, users)}
    if pending is not None:
        pending.extend(units)
    queued = queue_units(queue, marks, units, options.mark_ttl_seconds)
    tally.pages += 1
    tally.found += len(users)
    tally.dispatched += queued.dispatched
    tally.already_queued += queued.already_queued
    tally.refused += queued.refused
    return after


def _continue(
    queue: WorkQueue, marks: DispatchMarks, left: Sequence[ScanPage], ttl_seconds: int
) -> None:
    """Queue the positions the pass goes on from; ``DependencyUnavailable`` unless every one
    is queued (now or before): a position lost would lose its segment's users."""
    if not left:
        return
    queued = queue_units(queue, marks, {p.mark_key: p for p in left}, ttl_seconds)
    if queued.refused:
        raise DependencyUnavailable(
            f"SQS refused {queued.refused} positions of the weekly summary pass; retry the run"
        )


def dispatch_summaries(
    subscribers: Subscribers,
    queue: WorkQueue,
    marks: DispatchMarks,
    positions: Sequence[ScanPage],
    options: SummaryDispatchOptions | None = None,
    time_is_up: Callable[[], bool] = lambda: False,
    pending: list[str] | None = None,
) -> dict[str, Any]:
    """Queue every subscriber of the pass from ``positions`` on; return the dispatch summary.

    ``positions``: ``first_pages(run_day, segments)`` for a new pass, or the one ``ScanPage``
    a worker received. Pages are read until ``time_is_up()``; the positions not finished then
    are queued to go on (``continued``, and ``complete`` is False). ``pending`` collects the
    mark keys of the users queued now or before (for a caller that waits until they are
    worked on). ``DependencyUnavailable`` when DynamoDB or SQS cannot be reached, or SQS
    refused a user or a position (after every page was read and the rest queued).
    """
    options = options or SummaryDispatchOptions()
    tally = _Tally()
    left: list[ScanPage] = []
    for start in positions:
        position: ScanPage | None = start
        while position is not None:
            if time_is_up():
                left.append(position)
                break
            after = _dispatch_page(subscribers, queue, marks, position, options, tally, pending)
            position = replace(position, after=after) if after else None
    _continue(queue, marks, left, options.position_mark_ttl_seconds)
    if tally.refused:
        # The next run is a week away: fail, so the run (or message) is retried; its users
        # already queued are found marked, or their summary already queued.
        raise DependencyUnavailable(
            f"SQS refused {tally.refused} weekly summaries; the pass is retried"
        )
    if left:
        logger.info("weekly summary pass continues through the queue", extra={"left": len(left)})
    metrics.add_metric(name="WeeklySummariesDispatched", unit="Count", value=tally.dispatched)
    week = positions[0].week if positions else ""
    return {
        "queue": queue.name,
        "week": week,
        "users_found": tally.found,
        "pages": tally.pages,
        "dispatched": tally.dispatched,
        "already_queued": tally.already_queued,
        "refused": tally.refused,
        "complete": not left,
        "continued": len(left),
    }
