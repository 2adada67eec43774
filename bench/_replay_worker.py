"""The fan-out ceiling's worker: drains the report queue like ``localdev.consumers``, but each
message gets the AWS calls of one recorded delivery, made again with fresh ids, and nothing else.

    .venv/bin/python bench/_replay_worker.py CALLS_FILE

One process, one batch at a time, with the consumer's SQS calls: ``ReceiveMessage`` (up to 10,
long poll of 1 s, every attribute), then ``DeleteMessageBatch`` of the batch. ``CALLS_FILE`` is a
pickled list of ``_calls.Call`` (``bench/fanout.py`` records it). It prints ``ready`` once its
clients and queue URL are set up, then works until SIGTERM. Settings come from the environment
(``bench/_report_data.py`` ``environment``). The leading underscore keeps ``make bench`` from
running it.
"""

from __future__ import annotations

import pickle
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _calls import FreshUlids, app_clients, for_replay, replay  # noqa: E402

BATCH = 10
WAIT_SECONDS = 1


def main() -> None:
    from chalicelib import wiring
    from chalicelib.clients import get_sqs
    from chalicelib.platform.ids import new_ulid

    calls = pickle.loads(Path(sys.argv[1]).read_bytes())
    client_for = app_clients()
    sqs, url = get_sqs(), wiring.report_requests_queue().url()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.is_set():
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            continue
        for _ in messages:
            replay(for_replay(calls, FreshUlids(new_ulid)), client_for)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


if __name__ == "__main__":
    main()
