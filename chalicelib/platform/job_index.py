"""The jobs table's search index, ``jobs-by-state``: its name, its key and the id bounds of a time.

Three features meet at the jobs table: the bulk import and the exports write its items, the
admin searches them. This module is where they agree on the index, without importing each
other's models:

- every job item, of either type, carries ``job_state = "<type>#<status>"``
  (``bulk_import#failed``, ``export#queued``), written in the same update as the status itself;
- the index is keyed by ``job_state`` (hash) and ``job_id`` (range), ``KEYS_ONLY``: an entry
  holds ``job_state``, ``job_id`` and ``user_id``, nothing else.

Job ids are ULIDs, minted at the job's creation, so in each partition the newest jobs come first
in key order, and "created between two times" is a range of ids (``id_floor``/``id_ceiling``):
no attribute of the item has to be read to filter by date.

What it costs: a checkpoint, a lease or a count changes no key attribute, so it writes nothing
to the index; only a change of status does (the entry moves: one delete and one put, a write
unit each for these small entries). A job pays 1 write unit when created and 2 at each status
change (queued, processing, completed or failed: about 5 a job), whatever its number of rows.
"""

from __future__ import annotations

import datetime as dt

from ulid import ULID

INDEX_NAME = "jobs-by-state"
STATE_ATTRIBUTE = "job_state"
_SEPARATOR = "#"
# ULIDs: 48 bits of milliseconds then 80 random bits.
_TIME_BYTES = 6
_RANDOM_BYTES = 10
_LAST_MS = 2**48 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def state_key(job_type: str, status: str) -> str:
    """The index's hash key of a job of ``job_type`` in ``status``: ``"bulk_import#failed"``."""
    return f"{job_type}{_SEPARATOR}{status}"


def _ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of an aware datetime (exactly: no float), kept within what a ULID
    can hold."""
    return min(max(0, (moment - _EPOCH) // dt.timedelta(milliseconds=1)), _LAST_MS)


def id_floor(moment: dt.datetime) -> str:
    """The smallest ULID minted at ``moment``'s millisecond: ids ``>=`` it are that late or
    later."""
    stamp = _ms(moment).to_bytes(_TIME_BYTES, "big")
    return str(ULID.from_bytes(stamp + b"\x00" * _RANDOM_BYTES))


def id_ceiling(moment: dt.datetime) -> str:
    """The largest ULID minted at ``moment``'s millisecond: ids ``<=`` it are that early or
    earlier."""
    stamp = _ms(moment).to_bytes(_TIME_BYTES, "big")
    return str(ULID.from_bytes(stamp + b"\xff" * _RANDOM_BYTES))
