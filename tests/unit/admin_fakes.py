"""Hand-written fakes of the admin ports: every user's jobs in memory, as the index holds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.admin.job_records import AdminJob, IdRange, JobKey, JobSearch
from chalicelib.admin.ports import JobIndex
from chalicelib.bulk_import.domain import RowError
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.job_index import state_key


@dataclass
class FakeJobIndex(JobIndex):
    """``JobIndex`` over a list of jobs; ``calls`` names each method called, in order."""

    jobs: list[AdminJob] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    down: bool = False

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise DependencyUnavailable("the jobs table is unavailable")

    def _partition(self, partition: str, ids: IdRange) -> list[AdminJob]:
        found = [
            j
            for j in self.jobs
            if state_key(j.job_type, j.status) == partition and ids.contains(j.job_id)
        ]
        return sorted(found, key=lambda j: j.job_id, reverse=True)

    def newest(self, partition: str, ids: IdRange, limit: int) -> list[JobKey]:
        self._check("newest")
        return [JobKey(j.user_id, j.job_id) for j in self._partition(partition, ids)[:limit]]

    def find(self, partition: str, job_id: str) -> JobKey | None:
        self._check("find")
        found = self._partition(partition, IdRange(job_id, job_id))
        return JobKey(found[0].user_id, job_id) if found else None

    def count(self, partition: str, ids: IdRange) -> int:
        self._check("count")
        return len(self._partition(partition, ids))

    def read(self, keys: Sequence[JobKey]) -> list[AdminJob]:
        self._check("read")
        by_key = {JobKey(j.user_id, j.job_id): j for j in self.jobs}
        return [by_key[key] for key in keys if key in by_key]

    def of_user(self, user_id: str, email: str | None, search: JobSearch) -> list[AdminJob]:
        self._check("of_user")
        found = [j for j in self.jobs if j.user_id == user_id and search.allows(j)]
        found.sort(key=lambda j: j.job_id, reverse=True)
        return found[: search.limit + 1]


@dataclass
class FakeRowErrors:
    """``RowErrors``: each job's failed rows, by row."""

    rows: dict[str, list[RowError]] = field(default_factory=dict)

    def first_errors(self, job_id: str, limit: int | None) -> list[RowError]:
        return self.rows.get(job_id, [])[:limit]
