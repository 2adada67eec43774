"""Benchmark: the cold-start import, ``import app`` against the bare import of its libraries.

Fresh interpreters, CPU time of the import alone, samples interleaved, minimum and median of each
(``localdev/import_cost.py`` says why). Measured twice: with bytecode cached (the budget's
measure) and with every module compiled from source, as in a Lambda package, which holds no
``.pyc``. Then the packages ``import app`` loads beyond the libraries, largest first.

    .venv/bin/python bench/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localdev.import_cost import (
    APP_STATEMENT,
    BUDGET_RATIO,
    LIBRARIES,
    LIBRARIES_STATEMENT,
    ImportSample,
    added_packages,
    best,
    measure,
)

# What the app reads at import (the stage's names); no service is contacted.
_ENV = {
    "STAGE": "local",
    "RESOURCE_PREFIX": "books-api-local",
    "JWT_SECRET": "bench-secret-" + "x" * 32,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Variables that would turn tracing on (they are set inside Lambda only).
_TRACING = ("LAMBDA_TASK_ROOT", "_X_AMZN_TRACE_ID")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def _row(name: str, samples: list[ImportSample]) -> str:
    median = statistics.median(s.cpu_seconds for s in samples)
    modules = len(samples[0].modules)
    return f"  {name:<10} min {_ms(best(samples))}  median {_ms(median)}  {modules} modules"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="samples per statement and mode")
    args = parser.parse_args()

    env = {name: value for name, value in os.environ.items() if name not in _TRACING}
    env.update(_ENV)
    statements = {"libraries": LIBRARIES_STATEMENT, "app": APP_STATEMENT}
    print(f"libraries: {', '.join(LIBRARIES)}")
    print(f"CPU time of the import, {args.runs} interleaved runs each, fresh interpreters")
    for cached, title in ((True, "bytecode cached"), (False, "compiled from source")):
        samples = measure(statements, env, runs=args.runs, cached_bytecode=cached)
        ratio = best(samples["app"]) / best(samples["libraries"])
        print(f"{title}:")
        print(_row("libraries", samples["libraries"]))
        print(_row("app", samples["app"]))
        budget = f" (budget {BUDGET_RATIO:.2f})" if cached else ""
        print(f"  app / libraries = {ratio:.2f}{budget}")
    added = added_packages(samples["app"][0], samples["libraries"][0])
    print("packages the app adds (modules):", ", ".join(f"{p} {n}" for p, n in added[:12]))


if __name__ == "__main__":
    main()
