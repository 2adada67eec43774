"""The admin stats without AWS or Redis: the counters' keys, the windows, the chart, fail-soft.

``stats`` runs over fakes of its sources; the functional tests read the real ones on moto and
a real redis-server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from chalicelib.admin import stats
from chalicelib.admin.job_records import AdminJob, IdRange
from chalicelib.platform.adapters.redis_minute_counters import RedisMinuteCounters
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.minute_counters import Counter, last_minutes, minute_key, minute_of
from chalicelib.platform.queues import QueueDepth
from chalicelib.reports.domain import SendQuota
from tests.unit.admin_fakes import FakeJobIndex

NOW = dt.datetime(2026, 11, 30, 18, 7, 42, 500_000, tzinfo=dt.UTC)


# --- the counters' keys ----------------------------------------------------------------------


def test_a_counter_key_names_its_utc_minute() -> None:
    assert minute_key(Counter.ROWS_IMPORTED, NOW) == "stats:rows_imported:202611301807"
    paris = dt.timezone(dt.timedelta(hours=1))
    assert minute_key(Counter.REPORTS_SENT, NOW.astimezone(paris)) == (
        "stats:reports_sent:202611301807"
    )
    assert minute_of(NOW.replace(tzinfo=None)) == dt.datetime(2026, 11, 30, 18, 7, tzinfo=dt.UTC)


def test_the_last_minutes_end_with_the_current_one_oldest_first() -> None:
    minutes = last_minutes(NOW, 3)
    assert [m.strftime("%H:%M") for m in minutes] == ["18:05", "18:06", "18:07"]


class _DownRedis:
    def pipeline(self, transaction: bool = True) -> Any:
        raise redis.ConnectionError("down")

    def mget(self, keys: Sequence[str]) -> Any:
        raise redis.ConnectionError("down")


def test_adding_fails_open_and_reading_says_the_counters_are_unavailable() -> None:
    counters = RedisMinuteCounters(lambda: _DownRedis(), now=lambda: NOW)  # type: ignore[arg-type, return-value]

    counters.add(Counter.REPORTS_SENT)  # no error: the report was sent all the same
    with pytest.raises(DependencyUnavailable):
        counters.read([Counter.REPORTS_SENT], last_minutes(NOW, 2))


# --- the parts -------------------------------------------------------------------------------


def _counts(
    minutes: list[dt.datetime], at: dict[int, tuple[int, int, int]]
) -> dict[Counter, list[int]]:
    """Counts of ``minutes`` (sent, failed, rows), zero but where ``at`` (minutes back) says."""
    columns: dict[Counter, list[int]] = {c: [] for c in stats._COUNTERS}
    for back, _minute in zip(range(len(minutes) - 1, -1, -1), minutes, strict=True):
        sent, failed, rows = at.get(back, (0, 0, 0))
        columns[Counter.REPORTS_SENT].append(sent)
        columns[Counter.REPORTS_FAILED].append(failed)
        columns[Counter.ROWS_IMPORTED].append(rows)
    return columns


def test_reports_count_the_last_sixty_minutes_and_the_whole_day() -> None:
    minutes = last_minutes(NOW, stats.DAY_MINUTES)
    counts = _counts(minutes, {0: (1, 0, 0), 59: (2, 1, 0), 60: (4, 0, 0), 1439: (8, 2, 0)})

    assert stats.report_counts(counts) == {
        "sent": {"last_hour": 3, "last_24_hours": 15},
        "failed": {"last_hour": 1, "last_24_hours": 3},
    }


def test_the_hour_chart_has_a_point_a_minute_and_the_day_chart_a_point_an_hour() -> None:
    minutes = last_minutes(NOW, stats.DAY_MINUTES)
    # 18:07 now; 17:10 (57 back), 16:59 (68 back) and 18:07 the day before (1440 back: unread).
    counts = _counts(minutes, {0: (1, 0, 5), 57: (2, 0, 0), 68: (0, 0, 7), 1439: (3, 0, 0)})

    hour = stats.series(minutes, counts, "hour")
    day = stats.series(minutes, counts, "day")

    assert hour["bucket_seconds"] == 60 and len(hour["points"]) == 60
    assert hour["points"][0]["at"] == "2026-11-30T17:08:00.000Z"
    assert hour["points"][-1] == {
        "at": "2026-11-30T18:07:00.000Z",
        "reports_sent": 1,
        "rows_imported": 5,
    }
    assert [p["at"] for p in hour["points"] if p["reports_sent"]] == [
        "2026-11-30T17:10:00.000Z",
        "2026-11-30T18:07:00.000Z",
    ]
    assert day["bucket_seconds"] == 3600 and len(day["points"]) == 24
    assert day["points"][0]["at"] == "2026-11-29T19:00:00.000Z"
    by_hour = {p["at"][11:13]: (p["reports_sent"], p["rows_imported"]) for p in day["points"]}
    assert by_hour["18"] == (1, 5) and by_hour["17"] == (2, 0) and by_hour["16"] == (0, 7)
    # 18:08 the day before is in the 24 hours read, but before the first hour shown (19:00).
    assert sum(p["reports_sent"] for p in day["points"]) == 3


@dataclass
class _Counts:
    minutes: dict[dt.datetime, tuple[int, int, int]] = field(default_factory=dict)
    down: bool = False

    def read(
        self, names: Sequence[Counter], minutes: Sequence[dt.datetime]
    ) -> dict[Counter, list[int]]:
        if self.down:
            raise DependencyUnavailable("the stats counters are unavailable")
        column = {name: i for i, name in enumerate(stats._COUNTERS)}
        return {n: [self.minutes.get(m, (0, 0, 0))[column[n]] for m in minutes] for n in names}


@dataclass
class _Queue:
    name: str
    now: QueueDepth = field(default_factory=lambda: QueueDepth(0, 0, 0))
    down: bool = False

    def send(self, bodies: Sequence[str]) -> list[int]:
        return []

    def depth(self) -> QueueDepth:
        if self.down:
            raise DependencyUnavailable(f"queue {self.name} is unavailable")
        return self.now


@dataclass
class _Deliveries:
    dead: int = 0

    def dead_letters(self, limit: int = 100) -> list[Any]:
        return [object()] * min(self.dead, limit)


def _sources(**changes: Any) -> stats.StatsSources:
    parts: dict[str, Any] = {
        "jobs": FakeJobIndex(),
        "counters": _Counts(),
        "deliveries": _Deliveries(dead=2),
        "queues": [
            stats.WatchedQueue(
                "q-bulk",
                "bulk_worker",
                _Queue("q-bulk", QueueDepth(3, 2, 1)),
                _Queue("q-bulk-dlq", QueueDepth(4, 0, 0)),
            ),
            stats.WatchedQueue(
                "q-mail", "mail_worker", _Queue("q-mail"), _Queue("q-mail-dlq", QueueDepth(1, 1, 0))
            ),
        ],
        "ses_quota": lambda: SendQuota(
            max_send_rate=14.0, max_24_hour_send=50000.0, sent_last_24_hours=12.0
        ),
    }
    parts.update(changes)
    return stats.StatsSources(**parts)


def _job(minutes_back: int, status: str, job_type: str = "bulk_import") -> AdminJob:
    from ulid import ULID

    moment = NOW - dt.timedelta(minutes=minutes_back)
    return AdminJob(
        job_id=str(ULID.from_timestamp(int(moment.timestamp() * 1000))),
        user_id="U",
        email=None,
        job_type=job_type,
        status=status,
        fmt="csv",
        created_at=moment.isoformat(),
    )


def test_jobs_count_queued_and_processing_whenever_created_and_the_rest_of_the_last_day() -> None:
    index = FakeJobIndex(
        jobs=[
            _job(5 * 24 * 60, "queued"),
            _job(10, "queued", "export"),
            _job(3 * 24 * 60, "processing", "export"),
            _job(60, "completed"),
            _job(23 * 60, "completed", "export"),
            _job(25 * 60, "completed"),
            _job(2 * 24 * 60, "failed"),
            _job(1, "failed", "export"),
        ]
    )

    assert stats.job_counts(index, NOW) == {
        "queued": 2,
        "processing": 1,
        "completed": 2,
        "failed": 1,
    }


def test_every_part_is_answered_when_every_source_answers() -> None:
    counts = _Counts({minute_of(NOW): (2, 1, 9)})

    answer = stats.stats(_sources(counters=counts), NOW, "hour")

    assert answer["unavailable"] == []
    assert answer["generated_at"] == "2026-11-30T18:07:42.500Z"
    assert answer["jobs_since"] == "2026-11-29T18:07:42.500Z"
    assert answer["queues"] == [
        {
            "name": "q-bulk",
            "consumer": "bulk_worker",
            "depth": 4,
            "in_flight": 2,
            "dead_letter_depth": 4,
        },
        {
            "name": "q-mail",
            "consumer": "mail_worker",
            "depth": 0,
            "in_flight": 0,
            "dead_letter_depth": 2,
        },
    ]
    assert answer["dead_letters"] == 2 + 4 + 2
    assert answer["ses"] == {
        "max_24_hour_send": 50000.0,
        "sent_last_24_hours": 12.0,
        "max_send_rate": 14.0,
    }
    assert answer["reports"]["sent"] == {"last_hour": 2, "last_24_hours": 2}
    assert answer["series"]["points"][-1]["rows_imported"] == 9


def test_a_source_that_cannot_answer_empties_its_own_parts_only() -> None:
    broken_queue = _Queue("q-mail", down=True)
    sources = _sources(
        counters=_Counts(down=True),
        jobs=FakeJobIndex(down=True),
        queues=[stats.WatchedQueue("q-mail", "mail_worker", _Queue("q"), broken_queue)],
    )

    answer = stats.stats(sources, NOW, "day")

    assert answer["unavailable"] == ["reports", "series", "queues", "jobs", "dead_letters"]
    assert answer["reports"] is answer["series"] is answer["jobs"] is None
    assert answer["queues"] is answer["dead_letters"] is None
    assert answer["ses"]["max_send_rate"] == 14.0


def test_ses_alone_down_is_named() -> None:
    def refused() -> SendQuota:
        raise DependencyUnavailable("SES quota unavailable")

    answer = stats.stats(_sources(ses_quota=refused), NOW, "hour")

    assert answer["unavailable"] == ["ses"] and answer["ses"] is None
    assert answer["jobs"] == {"queued": 0, "processing": 0, "completed": 0, "failed": 0}


def test_an_id_range_of_the_last_day_starts_at_the_first_id_of_that_moment() -> None:
    recent = IdRange.between(NOW - stats.JOBS_WINDOW, None)
    assert recent.contains(_job(24 * 60 - 1, "completed").job_id)
    assert not recent.contains(_job(24 * 60 + 1, "completed").job_id)
