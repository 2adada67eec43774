"""The fan-out ceiling's worker: drains a work queue like ``localdev.consumers``, but each message
gets recorded AWS calls, made again with fresh ids, and nothing else.

    .venv/bin/python bench/_replay_worker.py PLAN_FILE

One process, one batch at a time, with the consumer's SQS calls: ``ReceiveMessage`` (up to the
function's batch size, long poll of 1 s, every attribute), then ``DeleteMessageBatch`` of the
batch. ``PLAN_FILE`` is a pickled ``_fanout.ReplayPlan`` (the queue, the recorded calls, how to
give them fresh ids), which ``bench/fanout.py`` and ``bench/fanout_bulk.py`` write. It prints
``ready`` once its clients and queue URL are set up, then works until SIGTERM. Settings come from
the environment (``bench/_report_data.py`` ``environment``). The leading underscore keeps
``make bench`` from running it.
"""

from __future__ import annotations

import json
import pickle
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _calls import FreshUlids, app_clients, for_replay, replace_text, replay  # noqa: E402
from _fanout import ReplayPlan  # noqa: E402

WAIT_SECONDS = 1


def _replay_message(plan: ReplayPlan, body: str, pool: ThreadPoolExecutor, client_for: Any) -> None:
    from chalicelib.platform.ids import new_ulid

    if plan.recorded_user:
        change = replace_text(plan.recorded_user, json.loads(body)["user_id"])
    else:
        change = FreshUlids(new_ulid)
    chunks = [for_replay(chunk, change) for chunk in plan.chunks]
    list(pool.map(lambda chunk: replay(chunk, client_for), chunks))


def main() -> None:
    from chalicelib import wiring
    from chalicelib.clients import get_sqs

    plan: ReplayPlan = pickle.loads(Path(sys.argv[1]).read_bytes())
    queue = wiring.report_requests_queue() if plan.queue == "reports" else wiring.bulk_jobs_queue()
    client_for = app_clients()
    sqs, url = get_sqs(), queue.url()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    with ThreadPoolExecutor(max_workers=plan.threads) as pool:
        while not stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=plan.batch,
                WaitTimeSeconds=WAIT_SECONDS,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                continue
            for message in messages:
                _replay_message(plan, message["Body"], pool, client_for)
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)


if __name__ == "__main__":
    main()
