"""Two fixes to moto's DynamoDB, for the local stack and the tests (never shipped).

1. One request at a time. DynamoDB applies each request atomically; moto's in-process
   ``TransactWriteItems`` deep-copies tables while other threads write to them and fails with
   "dictionary changed size during iteration". The local stack's threaded moto server and the
   tests' parallel writers both hit that, so DynamoDB requests are serialised here.
2. One backup copy per transaction. moto backs up a whole table once per *action* of a
   transaction (up to 100 deep copies of the table per call), which makes bulk imports on moto
   quadratic in time and memory. The backup is taken before any action runs, so copying each
   table once per call keeps moto's rollback semantics exactly.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_lock = threading.RLock()
_state = threading.local()
_MARK = "_books_api_tuned"


class _CopyOncePerTransaction(types.ModuleType):
    """Stands in for the ``copy`` module inside moto's DynamoDB models."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        copies = getattr(_state, "copies", None)
        if copies is None or memo is not None:
            return copy.deepcopy(obj, memo)
        if id(obj) not in copies:
            copies[id(obj)] = copy.deepcopy(obj)
        return copies[id(obj)]


def apply() -> None:
    """Install both fixes (idempotent)."""
    from moto.dynamodb import models
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, _MARK, False):
        return
    call_action = DynamoHandler.call_action
    transact = models.DynamoDBBackend.transact_write_items

    @functools.wraps(call_action)
    def serial_call_action(self: Any) -> Any:
        with _lock:
            return call_action(self)

    @functools.wraps(transact)
    def transact_with_one_backup(self: Any, transact_items: Any) -> Any:
        _state.copies = {}
        try:
            return transact(self, transact_items)
        finally:
            _state.copies = None

    setattr(serial_call_action, _MARK, True)
    DynamoHandler.call_action = serial_call_action  # type: ignore[method-assign]
    models.DynamoDBBackend.transact_write_items = transact_with_one_backup  # type: ignore[method-assign]
    models.copy = _CopyOncePerTransaction("copy")  # type: ignore[attr-defined]
