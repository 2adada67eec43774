"""A bench-only SQS consumer: one process that drains a work queue, one batch at a time.

    .venv/bin/python bench/_queue_worker.py --function report_worker
    .venv/bin/python bench/_queue_worker.py --function report_worker --replay CALLS_FILE

Like an event source mapping with one concurrent invocation: receive up to ``--batch`` messages
(long poll), hand them to the worker as an SQS event, delete the ones it did not report in
``batchItemFailures``. With ``--replay`` the worker is replaced by the emulator's ceiling: per
message, the AWS calls of one recorded delivery (a pickled list of ``_calls.Call``) are made
again with fresh ids, and nothing else; the SQS calls around them stay the same.

It prints ``ready`` once its imports, clients and queue URL are set up, then works until SIGTERM.
Settings come from the environment (``bench/_report_data.py`` ``environment``). The leading
underscore keeps ``make bench`` from running it.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _calls import FreshUlids, app_clients, for_replay, replay  # noqa: E402

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _Context:
    """A Lambda context with five minutes left at every call (each batch is a new invocation)."""

    function_name = "bench-worker"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-worker"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event Lambda would build from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def _replayer(path: str) -> Handler:
    """A worker stand-in: one recorded delivery's calls per message, with fresh ids."""
    from chalicelib.platform.ids import new_ulid

    calls = pickle.loads(Path(path).read_bytes())
    client_for = app_clients()

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for _ in event["Records"]:
            replay(for_replay(calls, FreshUlids(new_ulid)), client_for)
        return {"batchItemFailures": []}

    return handle


def _worker(name: str) -> Handler:
    from chalicelib import wiring
    from chalicelib.workers import WORKERS

    if name == "report_worker":
        wiring.report_dependencies()  # imports reportlab, as a warm Lambda has
    return WORKERS[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", choices=["report_worker", "bulk_worker"], required=True)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--replay", help="a pickled list of recorded calls to replay per message")
    args = parser.parse_args()

    from chalicelib import wiring
    from chalicelib.clients import get_sqs
    from chalicelib.config import get_settings

    queues = get_settings().queues
    queue = wiring.queue(
        queues.report_requests if args.function == "report_worker" else queues.bulk_jobs
    )
    handler = _replayer(args.replay) if args.replay else _worker(args.function)
    sqs, url = get_sqs(), queue.url()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.is_set():
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=args.batch,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            continue
        answer = handler(_event(messages, arn["QueueArn"]), _Context())
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )


if __name__ == "__main__":
    main()
