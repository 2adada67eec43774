"""GET /admin/stats: the overview's numbers match a known history, and a dependency that is down
empties its own part only.

The history goes through the real code where the counts are kept: a bulk import run (its rows
are counted by the status record's publish script), report runs whose mailer refuses one email
(the report worker counts sent and failed), jobs moved through their states by their own
repositories, a message in a dead-letter queue. Older minutes of the counters are written by the
counters' adapter with its clock set back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from chalicelib import wiring
from chalicelib.bulk_import.domain import FAILED, PROCESSING, QUEUED
from chalicelib.clients import get_redis, get_sqs
from chalicelib.config import get_settings
from chalicelib.platform.adapters.redis_minute_counters import RedisMinuteCounters
from chalicelib.platform.clock import utc_now
from chalicelib.platform.minute_counters import Counter
from chalicelib.reports.service import send_reports
from tests.functional.admin_jobs_support import bulk_job, export_job
from tests.functional.bulk_helpers import run_insert, submit_json
from tests.functional.reports_support import FAST_POLICY, report_deps, sent_messages
from tests.functional.test_reports_failures import FlakyMailer


def _counted_at(moment: dt.datetime, name: Counter, amount: int) -> None:
    RedisMinuteCounters(get_redis, now=lambda: moment).add(name, amount)


def _send(queue: str, body: str) -> None:
    sqs = get_sqs()
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody=body)


def _stats(api: Any, token: str, window: str = "hour") -> dict[str, Any]:
    response = api.call("GET", f"/admin/stats?window={window}", token=token)
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def test_the_numbers_match_a_known_history(api, valid_book):
    _, admin = api.new_user("admin@example.com")
    first, first_token = api.new_user()
    second, second_token = api.new_user()
    now = utc_now()
    # Two bulk imports run now: 3 rows inserted (1 failed) and 2, both completed.
    submit_json(api, first_token, [valid_book(), {**valid_book(), "isbn": "bad"}, valid_book()])
    submit_json(api, second_token, [valid_book(), valid_book()])
    run_insert(workers=1)
    # Their reports: the mailer refuses the first email, which (one attempt allowed) is a dead
    # letter; the other one is sent.
    mailer = FlakyMailer(wiring.report_dependencies().mailer, failures=1)
    policy = replace(FAST_POLICY, workers=1, max_attempts=1)
    assert send_reports(report_deps(mailer=mailer), policy)["reports_sent"] == 1
    # Earlier history: in the last 24 hours but not the last hour, and older than 24 hours.
    _counted_at(now - dt.timedelta(minutes=90), Counter.REPORTS_SENT, 2)
    _counted_at(now - dt.timedelta(hours=23), Counter.REPORTS_FAILED, 1)
    _counted_at(now - dt.timedelta(hours=3), Counter.ROWS_IMPORTED, 7)
    _counted_at(now - dt.timedelta(hours=30), Counter.REPORTS_SENT, 5)
    # Jobs: a queued one from three days ago still counts, an old failure does not.
    bulk_job(first["user_id"], now - dt.timedelta(days=3), QUEUED)
    export_job(second["user_id"], now - dt.timedelta(hours=1), PROCESSING)
    export_job(second["user_id"], now - dt.timedelta(hours=2), FAILED)
    export_job(first["user_id"], now - dt.timedelta(days=2), FAILED)
    # Queues: one message waiting for the export worker, one dead bulk message.
    queues = get_settings().queues
    _send(queues.exports, '{"user_id": "x"}')
    _send(queues.dead_letter(queues.bulk_jobs), '{"user_id": "y"}')

    stats = _stats(api, admin)

    assert stats["unavailable"] == []
    assert stats["jobs"] == {"queued": 1, "processing": 1, "completed": 2, "failed": 1}
    assert stats["reports"] == {
        "sent": {"last_hour": 1, "last_24_hours": 3},
        "failed": {"last_hour": 1, "last_24_hours": 2},
    }
    assert stats["dead_letters"] == 2  # the refused report and the dead bulk message
    lines = {line["name"]: line for line in stats["queues"]}
    assert set(lines) == set(queues.work_queues())
    assert lines[queues.exports]["depth"] == 1 and lines[queues.exports]["consumer"] == (
        "export_worker"
    )
    assert lines[queues.bulk_jobs]["dead_letter_depth"] == 1
    assert stats["ses"]["sent_last_24_hours"] == len(sent_messages()) == 1
    assert stats["ses"]["max_24_hour_send"] > 0 and stats["ses"]["max_send_rate"] > 0

    minutes = stats["series"]
    assert minutes["bucket_seconds"] == 60 and len(minutes["points"]) == 60
    assert sum(p["reports_sent"] for p in minutes["points"]) == 1
    assert sum(p["rows_imported"] for p in minutes["points"]) == 4
    hours = _stats(api, admin, "day")["series"]
    assert hours["bucket_seconds"] == 3600 and len(hours["points"]) == 24
    assert sum(p["reports_sent"] for p in hours["points"]) == 3
    assert sum(p["rows_imported"] for p in hours["points"]) == 11
    three_hours_ago = (now - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    (point,) = [
        p for p in hours["points"] if p["at"] == three_hours_ago.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ]
    assert point["rows_imported"] == 7


def test_with_redis_down_the_counters_parts_are_null_and_the_rest_answers(api, app_redis):
    _, admin = api.new_user("admin@example.com")
    user, _ = api.new_user()
    bulk_job(user["user_id"], utc_now(), QUEUED)

    app_redis.stop()
    stats = _stats(api, admin)

    assert stats["unavailable"] == ["reports", "series"]
    assert stats["reports"] is None and stats["series"] is None
    assert stats["jobs"]["queued"] == 1
    assert stats["queues"] is not None and stats["ses"] is not None
    assert stats["dead_letters"] == 0


def test_the_window_must_be_an_hour_or_a_day(api):
    _, admin = api.new_user("admin@example.com")
    for bad in ("week", "HOUR", "1h"):
        response = api.call("GET", f"/admin/stats?window={bad}", token=admin)
        assert response.status_code == 400 and response.json_body["error"] == "validation_error"


def test_a_jobs_rows_count_once_however_often_its_counts_are_published(aws):
    from chalicelib.platform.minute_counters import minute_key
    from chalicelib.status_record.adapters.redis_store import RedisStatusStore

    store = RedisStatusStore(get_redis)
    processed_at = "2026-11-25T10:01:30.000Z"
    for _ in range(3):  # a worker retried after it published, and a second delivery
        store.publish(
            "01JUSER0000000000000000000", "01JJOB00000000000000000000", 5, 2, processed_at
        )
    store.publish("01JUSER0000000000000000000", "01JJOB00000000000000000001", 0, 4, processed_at)

    minute = dt.datetime(2026, 11, 25, 10, 1, tzinfo=dt.UTC)
    assert get_redis().get(minute_key(Counter.ROWS_IMPORTED, minute)) == "5"
    assert 0 < get_redis().ttl(minute_key(Counter.ROWS_IMPORTED, minute)) <= 48 * 3600
