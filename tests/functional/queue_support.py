"""Helpers for tests that go through the queues: dispatch, then let the workers drain them.

The workers run through ``localdev.consumers.drain``: the same receive-invoke-delete code as the
local stack's pollers (and, in AWS, what an event source mapping does), in the test's thread.
"""

from __future__ import annotations

from typing import Any

from localdev.consumers import drain

# Each schedule's dispatcher feeds this worker.
WORKER_OF = {"bulk_insert": "bulk_worker", "send_reports": "report_worker"}
DRAIN_SECONDS = 120


def the_app() -> Any:
    """The Chalice app (imported late: the test environment must be set first)."""
    from app import app

    return app


def drain_worker(worker: str, timeout_seconds: float = DRAIN_SECONDS) -> int:
    """Run ``worker`` until its queue is empty; the number of messages it finished."""
    return drain(the_app(), worker, timeout_seconds)


def run_and_drain(api: Any, admin_token: str, name: str) -> dict[str, Any]:
    """``POST /admin/jobs/{name}/run`` (200 expected), then drain the worker it fed."""
    ran = api.call("POST", f"/admin/jobs/{name}/run", token=admin_token)
    assert ran.status_code == 200, ran.body
    drain_worker(WORKER_OF[name])
    return dict(ran.json_body)


def queue_url(name: str) -> str:
    """The URL of the stage's queue ``name`` (moto)."""
    from chalicelib.clients import get_sqs

    return get_sqs().get_queue_url(QueueName=name)["QueueUrl"]


def set_visibility(name: str, seconds: int) -> None:
    """Shorten a queue's visibility timeout, so a left message comes back within the test."""
    from chalicelib.clients import get_sqs

    get_sqs().set_queue_attributes(
        QueueUrl=queue_url(name), Attributes={"VisibilityTimeout": str(seconds)}
    )


def queue_bodies(name: str) -> list[str]:
    """The bodies of every message in queue ``name``, left in place (hidden a second)."""
    from chalicelib.clients import get_sqs

    bodies: list[str] = []
    seen: set[str] = set()
    while True:
        answer = get_sqs().receive_message(
            QueueUrl=queue_url(name), MaxNumberOfMessages=10, VisibilityTimeout=1
        )
        fresh = [m for m in answer.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            return bodies
        seen.update(m["MessageId"] for m in fresh)
        bodies.extend(m["Body"] for m in fresh)
