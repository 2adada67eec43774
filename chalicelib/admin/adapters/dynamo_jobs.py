"""Every user's jobs, read through the ``jobs-by-state`` index and by key: ``JobIndex``.

The jobs table is written by two features (the bulk import, the exports) and read here across
both, so this adapter names the attributes it reads instead of importing their models, as the
reports' ``job_reader`` does: the keys ``(user_id, job_id)``, ``job_type``, ``status``,
``content_type``/``export_format``, the times, the counts and ``error``; and of the users table
(``accounts``) the key ``pk = "USER#<user_id>"`` and ``email``. The admin tests write jobs
through those features' own code and read them back here, so a change of layout fails them.

Calls: the index is read with ``Query`` (keys only: ``job_state``, ``job_id``, ``user_id``), a
page's jobs and their users with one ``BatchGetItem`` (``platform/adapters/dynamodb_batch_get``),
a user's jobs with a ``Query`` of their partition. Nothing here scans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.admin.job_records import (
    BULK_IMPORT,
    JOB_TYPES,
    STATUSES,
    AdminJob,
    IdRange,
    JobKey,
    JobSearch,
    admin_job,
)
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_batch_get import TableRead, batch_get
from chalicelib.platform.adapters.dynamodb_errors import dynamo_unavailable_as_domain_error
from chalicelib.platform.adapters.dynamodb_retry import Backoff
from chalicelib.platform.job_index import INDEX_NAME, STATE_ATTRIBUTE

USER_KEY_PREFIX = "USER#"
_JOB_ATTRIBUTES = (
    "user_id",
    "job_id",
    "job_type",
    "status",
    "content_type",
    "export_format",
    "created_at",
    "started_at",
    "completed_at",
    "total_rows",
    "success_count",
    "failure_count",
    "record_count",
    "error",
)
_plain = TypeDeserializer().deserialize


def _projection(attributes: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A ``ProjectionExpression`` naming every attribute through a placeholder (no reserved
    word can clash), and its ``ExpressionAttributeNames``."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    return ", ".join(names), names


def _plain_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in item.items()}


def _string(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoJobIndex:
    """``JobIndex`` on the jobs table, its index and the users table (``client``: the
    low-level DynamoDB client; ``backoff`` paces retries of keys a batch left unprocessed)."""

    def __init__(
        self, settings: Settings, client: Callable[[], Any], backoff: Backoff | None = None
    ) -> None:
        self._jobs = settings.tables.jobs
        self._users = settings.tables.users
        self._client = client
        self._backoff = backoff or Backoff()

    def _index_query(self, partition: str, ids: IdRange, **extra: Any) -> Iterator[dict[str, Any]]:
        """Every page of one partition's ids in ``ids``, newest first."""
        request: dict[str, Any] = {
            "TableName": self._jobs,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": "#state = :state AND job_id BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#state": STATE_ATTRIBUTE},
            "ExpressionAttributeValues": {
                ":state": _string(partition),
                ":low": _string(ids.low),
                ":high": _string(ids.high),
            },
            "ScanIndexForward": False,
            **extra,
        }
        while True:
            answer = self._client().query(**request)
            yield answer
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def newest(self, partition: str, ids: IdRange, limit: int) -> list[JobKey]:
        """``JobIndex.newest``: ``Query`` pages of up to ``limit`` keys until ``limit`` read."""
        keys: list[JobKey] = []
        with dynamo_unavailable_as_domain_error("search jobs"):
            for answer in self._index_query(partition, ids, Limit=limit):
                keys += [JobKey(i["user_id"]["S"], i["job_id"]["S"]) for i in answer["Items"]]
                if len(keys) >= limit:
                    break
        return keys[:limit]

    def find(self, partition: str, job_id: str) -> JobKey | None:
        """``JobIndex.find``: one ``Query`` for one key."""
        with dynamo_unavailable_as_domain_error("find job"):
            answer = next(self._index_query(partition, IdRange(job_id, job_id)))
        items = answer["Items"]
        return JobKey(items[0]["user_id"]["S"], job_id) if items else None

    def count(self, partition: str, ids: IdRange) -> int:
        """``JobIndex.count``: ``Select=COUNT`` (each page reads up to 1 MB of index keys)."""
        with dynamo_unavailable_as_domain_error("count jobs"):
            return sum(
                int(answer["Count"]) for answer in self._index_query(partition, ids, Select="COUNT")
            )

    def read(self, keys: Sequence[JobKey]) -> list[AdminJob]:
        """``JobIndex.read``: one ``BatchGetItem`` for the jobs and their users (each read
        once), one more per further 100 keys."""
        if not keys:
            return []
        projection, names = _projection(_JOB_ATTRIBUTES)
        user_ids = list(dict.fromkeys(key.user_id for key in keys))
        reads = {
            self._jobs: TableRead(
                keys=[
                    {"user_id": _string(key.user_id), "job_id": _string(key.job_id)}
                    for key in dict.fromkeys(keys)
                ],
                projection=projection,
                names=names,
            ),
            self._users: TableRead(
                keys=[{"pk": _string(f"{USER_KEY_PREFIX}{user_id}")} for user_id in user_ids],
                projection="user_id, email",
            ),
        }
        with dynamo_unavailable_as_domain_error("read jobs"):
            found = batch_get(self._client(), reads, self._backoff)
        emails = {
            str(_plain(user["user_id"])): str(_plain(user["email"])) for user in found[self._users]
        }
        items = {
            (item["user_id"]["S"], item["job_id"]["S"]): _plain_item(item)
            for item in found[self._jobs]
        }
        return [
            admin_job(items[(key.user_id, key.job_id)], emails.get(key.user_id))
            for key in keys
            if (key.user_id, key.job_id) in items
        ]

    def of_user(self, user_id: str, email: str | None, search: JobSearch) -> list[AdminJob]:
        """``JobIndex.of_user``: ``Query`` pages of the user's partition, newest first, with
        the type and status filters applied by DynamoDB (read, not returned)."""
        projection, names = _projection(_JOB_ATTRIBUTES)
        ref = {name: placeholder for placeholder, name in names.items()}
        values: dict[str, Any] = {
            ":user": _string(user_id),
            ":low": _string(search.ids.low),
            ":high": _string(search.ids.high),
        }
        filters = []
        if set(search.statuses) != set(STATUSES):
            statuses = {f":status{i}": _string(s) for i, s in enumerate(search.statuses)}
            values.update(statuses)
            filters.append(f"{ref['status']} IN ({', '.join(statuses)})")
        if set(search.types) != set(JOB_TYPES):
            (job_type,) = search.types
            values[":type"] = _string(job_type)
            kind = f"{ref['job_type']} = :type"
            # An item without a type is a bulk import from before exports existed.
            untyped = f"attribute_not_exists({ref['job_type']})"
            filters.append(f"({untyped} OR {kind})" if job_type == BULK_IMPORT else kind)
        request: dict[str, Any] = {
            "TableName": self._jobs,
            "KeyConditionExpression": (
                f"{ref['user_id']} = :user AND {ref['job_id']} BETWEEN :low AND :high"
            ),
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": max(search.limit + 1, 100),
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        wanted = search.limit + 1
        jobs: list[AdminJob] = []
        with dynamo_unavailable_as_domain_error("search a user's jobs"):
            while len(jobs) < wanted:
                answer = self._client().query(**request)
                jobs += [admin_job(_plain_item(item), email) for item in answer["Items"]]
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return jobs[:wanted]
