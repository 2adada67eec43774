"""What the deploy template adds to the SQS event source mappings that ``chalice package`` writes.

Chalice 1.34 writes each ``@app.on_sqs_message`` function's mapping as a SAM ``SQS`` event named
``<Function>SqsEventSource``, with a batch size and a queue ARN built from the queue *name*.
The merge template (a deep merge of dicts) completes each one:

- ``Queue``: the ARN of the stage's ``AWS::SQS::Queue`` resource, so CloudFormation creates the
  mapping after the queue (a name-built ARN carries no dependency) and it points at exactly the
  queue this template defines. It is written ``{"Fn::Sub": "${Queue.Arn}"}``, the same as
  ``Fn::GetAtt``: the deep merge replaces Chalice's ``Fn::Sub`` string, whereas a
  ``Fn::GetAtt`` key would sit beside it in one (invalid) intrinsic.
- ``FunctionResponseTypes: [ReportBatchItemFailures]``: the workers return
  ``{"batchItemFailures": [...]}``, and only with this does Lambda delete a batch's successes and
  retry just its failures. Chalice has no parameter for it.
- ``ScalingConfig.MaximumConcurrency``: how many instances the mapping runs at once. This is
  the place to cap a queue's consumers: a reserved concurrency below the mapping's pollers makes
  Lambda throttle batches, each throttle counts as a receive, and messages reach the
  dead-letter queue without a worker ever failing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.reports.domain import report_worker_concurrency
from infra.resources import WORK_QUEUES, WorkQueue
from infra.stages import CONFIG_PATH, stage_config

# A bulk worker writes one user's job, and all of a user's books share one partition key, which
# DynamoDB serves at about 1,000 write units a second (~250 rows/s, docs/benchmarks.md). Ten
# workers are at most ten hot partitions, ~10,000 write units a second: a quarter of an on-demand
# table's default ceiling (40,000), leaving the API its share. A new table starts at 4,000 and
# doubles with use; until then throttled chunks are left for the job's next run (checkpoints),
# never failed rows.
BULK_WORKER_MAX_CONCURRENCY = 10
# Seconds one report takes without the pacing wait, at the 90th percentile: read, render, S3,
# DynamoDB, SES. Eight AWS round trips plus a 15-70 ms render; measure the ReportDurationMs
# metric's p90 in the stage and put it here. Too high costs idle Lambda time, too low idles SES.
REPORT_SECONDS_P90 = 1.0
# A report worker handles its batch one message at a time (Powertools' BatchProcessor).
REPORT_THREADS_PER_WORKER = 1
# Seconds one email takes without the pacing wait, at the 90th percentile: render, the claim
# (PutItem), SES, the sent record (UpdateItem). As REPORT_SECONDS_P90: measure and put it here.
MAIL_SECONDS_P90 = 0.25
# Bulk mail shares SES with the mail a person waits for: two workers, the fewest AWS allows.
MAIL_BULK_MAX_CONCURRENCY = 2
# A weekly summary worker reads a user's counters (Redis), user and jobs (DynamoDB) and puts one
# email on the bulk mail queue, about 30 ms a user. Its output waits for mail_bulk_worker anyway:
# five workers fill that queue far faster than it drains, without crowding the API's tables.
WEEKLY_SUMMARY_MAX_CONCURRENCY = 5
# An export worker reads one user's partition (about 500 books a query) and writes one S3 object;
# five at once take a few thousand read units a second at most, leaving the API its share, and
# keep the PDF rendering (CPU, 1 GB each) bounded. More exports wait their turn in the queue.
EXPORT_WORKER_MAX_CONCURRENCY = 5
# The environment variable of .chalice/config.json holding a stage's SES sending rate (emails a
# second): the quota the account has, or has asked for. Only the template reads it; the workers
# pace themselves by the quota SES reports at run time.
SES_RATE_VARIABLE = "SES_MAX_SEND_RATE"


def ses_max_send_rate(stage: str, config_path: Path = CONFIG_PATH) -> float:
    """The stage's assumed SES ``MaxSendRate`` (emails a second) from ``.chalice/config.json``.

    ``SystemExit`` if the variable is missing or not a positive finite number.
    """
    raw = stage_config(stage, config_path)["environment_variables"].get(SES_RATE_VARIABLE, "")
    try:
        rate = float(raw)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):
        raise SystemExit(
            f"stage {stage!r}: set {SES_RATE_VARIABLE} in .chalice/config.json to the account's "
            f"SES sending rate (emails a second), got {raw!r}"
        )
    return rate


def maximum_concurrency(stage: str) -> dict[str, int]:
    """Each worker function's ``MaximumConcurrency`` in ``stage``, by function name.

    ``report_worker`` and ``mail_worker`` can each keep SES at its rate on their own
    (``report_worker_concurrency``: both wait on the one shared pacer when they run together);
    ``bulk_worker`` is bounded by DynamoDB's partitions; ``mail_bulk_worker`` runs two,
    ``weekly_summary_worker`` five, ``export_worker`` five.
    """
    rate = ses_max_send_rate(stage)
    return {
        "report_worker": report_worker_concurrency(
            rate, REPORT_SECONDS_P90, REPORT_THREADS_PER_WORKER
        ),
        "bulk_worker": BULK_WORKER_MAX_CONCURRENCY,
        "mail_worker": report_worker_concurrency(rate, MAIL_SECONDS_P90, 1),
        "mail_bulk_worker": MAIL_BULK_MAX_CONCURRENCY,
        "weekly_summary_worker": WEEKLY_SUMMARY_MAX_CONCURRENCY,
        "export_worker": EXPORT_WORKER_MAX_CONCURRENCY,
    }


def event_source_logical_ids(queue: WorkQueue) -> tuple[str, str]:
    """``(function, event)``: the ids ``chalice package`` gives the consumer and its mapping."""
    function = to_cfn_resource_name(queue.consumer)
    return function, to_cfn_resource_name(f"{queue.consumer}-sqs-event-source")


def event_source_overrides(stage: str) -> dict[str, Any]:
    """The part of each worker function's resource that the merge template sets."""
    concurrency = maximum_concurrency(stage)
    overrides: dict[str, Any] = {}
    for queue in WORK_QUEUES:
        function, event = event_source_logical_ids(queue)
        properties = {
            "Queue": {"Fn::Sub": "${" + queue.logical_id + ".Arn}"},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": concurrency[queue.consumer]},
        }
        overrides[function] = {"Properties": {"Events": {event: {"Properties": properties}}}}
    return overrides
