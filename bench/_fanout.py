"""What the fan-out benchmarks share: worker processes on a queue, and one drain's figures.

``Workers`` starts ``count`` processes of one command and waits until each says it polls: the
local stack's queue consumers (``python -m localdev.consumers``, the pipeline) or
``bench/_replay_worker.py`` (the ceiling). ``Round`` is one drain of the queue. Used by
``bench/fanout.py`` and ``bench/fanout_bulk.py``; the leading underscore keeps ``make bench``
from running it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _calls import Call  # noqa: E402
from _report_data import cpu_seconds  # noqa: E402

REPLAYER = ROOT / "bench" / "_replay_worker.py"
# What ``python -m localdev.consumers`` logs once its pollers run.
CONSUMER_READY = "consuming (Ctrl-C stops)"
REPLAYER_READY = "ready"


def consumer_command(function: str, warm_imports: Sequence[str] = ()) -> list[str]:
    """``localdev.consumers`` for one function with one poller thread (one batch at a time, like
    an event source mapping at concurrency 1), after importing ``warm_imports`` (what a warm
    Lambda has loaded, so the clock measures work, not imports)."""
    imports = "".join(f"import {module}; " for module in warm_imports)
    program = (
        f"import sys; {imports}from localdev.consumers import main; sys.exit(main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", program, "--function", function, "--concurrency", "1"]


@dataclass(frozen=True)
class ReplayPlan:
    """What the ceiling's replayer does for each message of ``queue`` (``"reports"`` or
    ``"bulk"``): make the recorded ``chunks`` of calls, each chunk's calls in order, the chunks on
    ``threads`` threads. With ``recorded_user`` set, that user id is replaced by the message's
    (a bulk job's rows under another catalogue); otherwise every ULID gets a fresh one (a report's
    snapshot, delivery and report ids). ``batch`` is the function's SQS batch size."""

    queue: str
    chunks: list[list[Call]]
    batch: int = 10
    threads: int = 1
    recorded_user: str = ""


def replayer_command(plan_file: str) -> list[str]:
    """``bench/_replay_worker.py`` on a pickled ``ReplayPlan``."""
    return [sys.executable, str(REPLAYER), plan_file]


@dataclass(frozen=True)
class Round:
    """One drain of a queue: its units (reports, rows), time, and the CPU the workers and the
    moto server spent on it."""

    processes: int
    units: int
    seconds: float
    worker_cpu: float
    moto_cpu: float
    dispatch_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.units / self.seconds

    def row(self, label: str, first: Round, per_units: int = 1) -> str:
        """A table row: processes, run, rate, speed-up against ``first``, CPU per
        ``per_units`` units of the workers and of moto (ms)."""
        per = 1000 * per_units / self.units
        return (
            f"{self.processes:>9} {label:<9} {self.rate:9.1f} {self.rate / first.rate:8.2f}x "
            f"{self.worker_cpu * per:10.1f} {self.moto_cpu * per:10.1f}"
        )


class Workers:
    """``count`` processes of ``command``, started and waited for (each prints ``ready_line``).
    Their output is read (and dropped) so it never blocks them; SIGTERM stops them."""

    def __init__(self, count: int, command: list[str], ready_line: str) -> None:
        self.ready_line = ready_line
        self.processes = [
            subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(count)
        ]

    def __enter__(self) -> Workers:
        for process in self.processes:
            assert process.stdout is not None
            for line in process.stdout:
                if self.ready_line in line:
                    break
            else:
                raise SystemExit(f"a worker process did not start (exit {process.wait()})")
            threading.Thread(target=_drop, args=(process.stdout,), daemon=True).start()
        return self

    def cpu(self) -> float:
        """CPU seconds the processes used so far."""
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drop(stream: IO[str]) -> None:
    for _ in stream:
        pass
