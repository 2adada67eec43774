"""Record, and refuse, the AWS calls the code under test makes, at botocore's one door.

Every AWS request, boto3's and PynamoDB's alike, goes through
``botocore.client.BaseClient._make_api_call``: wrapping it sees each call once (botocore's own
retries happen below it), and raising ``ClientError`` there refuses a call as the service would,
with no request sent. The ``aws_calls`` fixture (``tests/functional/conftest.py``) installs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import botocore.client
import pytest
from botocore.exceptions import ClientError


class AwsCall(NamedTuple):
    """One call: botocore's service name (``"dynamodb"``), the operation (``"PutItem"``) and a
    shallow copy of its parameters."""

    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class Refusal:
    """``operation`` fails with ``ClientError`` ``code``: ``left`` more times (None: until
    ``AwsCalls.allow``), and only while ``when()`` holds, if given."""

    operation: str
    code: str
    message: str
    left: int | None
    when: Callable[[], bool] | None

    def applies(self, operation: str) -> bool:
        if operation != self.operation or self.left == 0:
            return False
        return self.when is None or self.when()


class AwsCalls:
    """The AWS calls made inside ``recording()`` blocks, and the operations to refuse."""

    def __init__(self) -> None:
        self.log: list[AwsCall] = []
        self._recording = False
        self._refusals: list[Refusal] = []

    @property
    def calls(self) -> list[tuple[str, str]]:
        """``(service, operation)`` of each recorded call, in order."""
        return [(call.service, call.operation) for call in self.log]

    @property
    def operations(self) -> list[str]:
        """The operation of each recorded call, in order."""
        return [call.operation for call in self.log]

    @contextmanager
    def recording(self) -> Iterator[AwsCalls]:
        """Forget what was recorded, then record every call made inside the block."""
        self.log.clear()
        self._recording = True
        try:
            yield self
        finally:
            self._recording = False

    def refuse(
        self,
        operation: str,
        code: str,
        message: str = "injected",
        *,
        times: int | None = None,
        when: Callable[[], bool] | None = None,
    ) -> Refusal:
        """Make ``operation`` fail with ``code`` (``times`` times, None: until allowed); the
        refused call is still recorded. The refusal, whose ``left`` counts down."""
        refusal = Refusal(operation, code, message, times, when)
        self._refusals.append(refusal)
        return refusal

    def allow(self, operation: str) -> None:
        """Stop refusing ``operation``."""
        self._refusals = [r for r in self._refusals if r.operation != operation]

    def call(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        """Record the call, then refuse it or make it with botocore's ``original``."""
        if self._recording:
            service = client.meta.service_model.service_name
            self.log.append(AwsCall(service, operation, dict(params)))
        for refusal in self._refusals:
            if refusal.applies(operation):
                if refusal.left is not None:
                    refusal.left -= 1
                error: Any = {"Error": {"Code": refusal.code, "Message": refusal.message}}
                raise ClientError(error, operation)
        return original(client, operation, params)


@contextmanager
def aws_calls_patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCalls]:
    """Route every AWS call through a new ``AwsCalls`` until the block ends."""
    calls = AwsCalls()
    original = botocore.client.BaseClient._make_api_call

    def patched(client: Any, operation: str, params: dict[str, Any]) -> Any:
        return calls.call(original, client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", patched)
        yield calls
