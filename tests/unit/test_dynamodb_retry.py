"""The shared DynamoDB retry policy: what botocore retries is never retried again here; what it
cannot see (transaction conflicts, unprocessed batch items) is, with backoff, up to a cap."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, StandardRetryConditions

from chalicelib.config import AwsClientSettings
from chalicelib.platform.adapters.dynamodb_retry import (
    THROTTLING_CODES,
    Backoff,
    RetriesExhausted,
    batch_put,
    transact_write,
)
from chalicelib.platform.errors import Throttled

ACTIONS = [{"Put": {"TableName": "t", "Item": {"n": {"N": "1"}}}}] * 2


def _error(code: str, reasons: list[dict[str, Any]] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


def _cancelled(*codes: str) -> ClientError:
    return _error("TransactionCanceledException", [{"Code": code} for code in codes])


def _backoff(sleeps: list[float], attempts: int = 3) -> Backoff:
    return Backoff(attempts=attempts, base_seconds=0.1, sleep=sleeps.append, rand=lambda: 1.0)


class ScriptedDynamo:
    """Answers ``transact_write_items`` and ``batch_write_item`` from a script, counting calls."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def _next(self) -> Any:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> Any:
        return self._next()

    def batch_write_item(self, RequestItems: dict[str, Any]) -> Any:
        return self._next()


def _transact(fake: ScriptedDynamo, backoff: Backoff, settle: Any = None) -> None:
    transact_write(fake, lambda: ACTIONS, settle or (lambda reasons: False), backoff)


def _botocore_retries(code: str) -> bool:
    operation = (
        boto3.session.Session()
        .client("dynamodb", region_name="us-east-1")
        .meta.service_model.operation_model("TransactWriteItems")
    )
    context = RetryContext(
        attempt_number=1, operation_model=operation, parsed_response={"Error": {"Code": code}}
    )
    return bool(StandardRetryConditions(max_attempts=3).is_retryable(context))


def test_the_throttling_codes_are_ones_botocore_already_retries():
    assert THROTTLING_CODES and all(_botocore_retries(code) for code in THROTTLING_CODES)
    assert AwsClientSettings().retry_mode == "standard"
    # ...while a cancelled transaction is not retried by botocore: that one is ours.
    assert not _botocore_retries("TransactionCanceledException")


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_not_retried_again_but_raised_as_throttled(code: str):
    sleeps: list[float] = []
    fake = ScriptedDynamo([_error(code)])

    with pytest.raises(Throttled) as raised:
        _transact(fake, _backoff(sleeps))

    assert fake.calls == 1 and sleeps == []
    assert not isinstance(raised.value, RetriesExhausted)  # botocore's retries, not ours


def test_a_throttled_batch_is_not_retried_again_but_raised_as_throttled():
    sleeps: list[float] = []
    fake = ScriptedDynamo([_error("ProvisionedThroughputExceededException")])

    with pytest.raises(Throttled):
        batch_put(fake, "t", [{"n": {"N": "1"}}], _backoff(sleeps))

    assert fake.calls == 1 and sleeps == []


def test_transaction_conflicts_are_retried_with_exponential_backoff():
    sleeps: list[float] = []
    conflict = _cancelled("None", "TransactionConflict")
    fake = ScriptedDynamo([conflict, conflict, {}])

    _transact(fake, _backoff(sleeps))

    assert fake.calls == 3 and sleeps == [0.1, 0.2]


def test_throttling_reported_inside_a_cancellation_is_retried_like_a_conflict():
    # botocore sees a cancelled transaction, not throttling, so only this loop can retry it.
    sleeps: list[float] = []
    fake = ScriptedDynamo(
        [_cancelled("ThrottlingError", "None"), _cancelled("ProvisionedThroughputExceeded"), {}]
    )

    _transact(fake, _backoff(sleeps))

    assert fake.calls == 3 and sleeps == [0.1, 0.2]


def test_conflicts_give_up_after_the_cap_with_a_retry_later_error():
    sleeps: list[float] = []
    fake = ScriptedDynamo([_cancelled("TransactionConflict", "None")] * 10)

    with pytest.raises(RetriesExhausted) as raised:
        _transact(fake, _backoff(sleeps, attempts=3))

    assert isinstance(raised.value, Throttled)
    assert fake.calls == 4 and sleeps == [0.1, 0.2, 0.4]


def test_a_cancellation_the_caller_settles_is_tried_again_at_once():
    sleeps: list[float] = []
    fake = ScriptedDynamo([_cancelled("ConditionalCheckFailed", "None"), {}])
    seen: list[list[dict[str, Any]]] = []

    def settle(reasons: list[dict[str, Any]]) -> bool:
        seen.append(reasons)
        return True  # decided the failed condition

    _transact(fake, _backoff(sleeps), settle)

    assert fake.calls == 2 and sleeps == []
    assert seen == [[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]]


def test_nothing_is_sent_once_the_caller_has_decided_every_action():
    fake = ScriptedDynamo([])
    transact_write(fake, lambda: [], lambda reasons: False, _backoff([]))
    assert fake.calls == 0


@pytest.mark.parametrize(
    "error",
    [
        _cancelled("ValidationError", "None"),
        _error("ValidationException"),
        _error("InternalServerError"),  # botocore retried it already; not ours to repeat
    ],
)
def test_other_errors_are_raised_at_once(error: ClientError):
    sleeps: list[float] = []
    fake = ScriptedDynamo([error])

    with pytest.raises(ClientError):
        _transact(fake, _backoff(sleeps))

    assert fake.calls == 1 and sleeps == []


def test_backoff_is_capped_and_jittered():
    sleeps: list[float] = []
    backoff = Backoff(base_seconds=1, cap_seconds=5, sleep=sleeps.append, rand=lambda: 0.5)
    for attempt in range(6):
        backoff.pause(attempt)
    assert sleeps == [0.5, 1.0, 2.0, 2.5, 2.5, 2.5]


def test_the_longest_backoff_is_the_sum_of_its_capped_pauses():
    assert Backoff(attempts=4, base_seconds=1, cap_seconds=3).longest_seconds() == 1 + 2 + 3 + 3
    assert Backoff(attempts=0).longest_seconds() == 0


class FakeBatch:
    def __init__(self, unprocessed_rounds: int) -> None:
        self.rounds = unprocessed_rounds
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (items,) = RequestItems.values()
        self.calls.append(len(items))
        if self.rounds:
            self.rounds -= 1
            return {"UnprocessedItems": {"t": items[:1]}}
        return {}


def test_batch_put_sends_25_at_a_time_and_retries_unprocessed_items():
    fake, sleeps = FakeBatch(unprocessed_rounds=2), []
    batch_put(fake, "t", [{"n": {"N": str(i)}} for i in range(30)], Backoff(sleep=sleeps.append))
    assert fake.calls == [25, 1, 1, 5] and len(sleeps) == 2


def test_batch_put_gives_up_after_its_attempts():
    with pytest.raises(RetriesExhausted):
        batch_put(
            FakeBatch(unprocessed_rounds=99),
            "t",
            [{"n": {"N": "1"}}],
            Backoff(attempts=2, sleep=lambda s: None),
        )


def test_unprocessed_items_back_off_exponentially_up_to_the_cap():
    sleeps: list[float] = []
    fake = FakeBatch(unprocessed_rounds=99)

    with pytest.raises(Throttled):
        batch_put(fake, "t", [{"n": {"N": "1"}}], _backoff(sleeps, attempts=3))

    assert fake.calls == [1, 1, 1, 1] and sleeps == [0.1, 0.2, 0.4]
