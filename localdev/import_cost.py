"""The CPU cost of an import in a fresh interpreter: what the cold-start budget is measured with.

A cold Lambda pays for ``import app`` before its first request. The budget compares that with
the bare import of the libraries the app is built on (``LIBRARIES``): the app may add at most
``BUDGET_RATIO - 1`` of their cost. ``bench/cold_start.py`` prints the figures and
``tests/system/test_cold_start.py`` holds the ratio.

How one figure is taken, so that a shared, noisy machine does not decide it:

* every sample is a new ``python -c`` process that reads its own CPU clock
  (``time.process_time``) just before and after the import, so interpreter start-up is left out
  and time the machine gives to other processes does not count (their load still slows it);
* the statements' samples are interleaved (a, b, a, b, ...), so a slow spell hits each alike;
* the minimum of each statement's samples is its figure: noise only ever adds time.

Bytecode is the other thing that moves figures. Both sides are measured with it in a private
cache (``PYTHONPYCACHEPREFIX``), filled by one untimed run of each statement first, so the app's
modules and the libraries' are measured alike whether or not the developer's environment writes
``.pyc`` files. ``cached_bytecode=False`` instead compiles every module from source in every
sample, as a Lambda function does: the package ``chalice package`` builds ships no ``.pyc``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]

# What every API request needs, imported bare. The five (the framework, the AWS SDK, the
# DynamoDB mapper, the cache client, Powertools), plus what the app cannot run a request without:
# pydantic, whose models each route validates and answers with (the modules below are the ones
# the app's ``from pydantic import ...`` lines load), and PyJWT, which the authorizer calls on
# every request that carries a token.
LIBRARIES = (
    "chalice",
    "boto3",
    "pynamodb.models",
    "redis",
    "aws_lambda_powertools",
    "pydantic.main",
    "pydantic.root_model",
    "pydantic.functional_validators",
    "pydantic.json_schema",
    "jwt",
)
APP_STATEMENT = "import app"
LIBRARIES_STATEMENT = "import " + ", ".join(LIBRARIES)
# ``import app`` may cost at most this many times ``LIBRARIES_STATEMENT``.
BUDGET_RATIO = 1.30

# Runs in the child: the statement between two readings of the process's own clocks.
_PROBE = """\
import time
_cpu, _wall = time.process_time(), time.perf_counter()
{statement}
_cpu, _wall = time.process_time() - _cpu, time.perf_counter() - _wall
import json, sys
print(json.dumps({{"cpu": _cpu, "wall": _wall, "modules": sorted(sys.modules)}}))
"""


@dataclass(frozen=True)
class ImportSample:
    """One import in one fresh process: CPU and wall seconds, and every module loaded after it."""

    cpu_seconds: float
    wall_seconds: float
    modules: frozenset[str]


def sample(
    statement: str, env: Mapping[str, str], cwd: Path = PROJECT_DIR, timeout: float = 120.0
) -> ImportSample:
    """Run ``statement`` in a new interpreter (this one's executable) and time it.

    ``env`` is the child's whole environment. Raises ``subprocess.CalledProcessError`` (with the
    child's stderr) if the statement fails, ``subprocess.TimeoutExpired`` after ``timeout`` s.
    """
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise subprocess.CalledProcessError(
            completed.returncode, completed.args, completed.stdout, completed.stderr
        )
    report = json.loads(completed.stdout.splitlines()[-1])
    return ImportSample(report["cpu"], report["wall"], frozenset(report["modules"]))


def measure(
    statements: Mapping[str, str],
    env: Mapping[str, str],
    runs: int = 5,
    cached_bytecode: bool = True,
    cache_dir: Path | None = None,
    cwd: Path = PROJECT_DIR,
) -> dict[str, list[ImportSample]]:
    """``runs`` interleaved samples of each named statement, in run order per name.

    ``env`` is the children's environment; the bytecode variables are set here. With
    ``cached_bytecode`` the bytecode lives in ``cache_dir`` (a temporary directory if None; pass
    the same one to later calls to skip recompiling) and one untimed run of each statement
    fills it first. ``best`` picks a statement's figure from its samples.
    """
    with tempfile.TemporaryDirectory(prefix="import-cost-pyc-") as scratch:
        child_env = {**env, "PYTHONPYCACHEPREFIX": str(cache_dir or scratch)}
        if cached_bytecode:
            child_env.pop("PYTHONDONTWRITEBYTECODE", None)
            for statement in statements.values():
                sample(statement, child_env, cwd)
        else:
            # An empty cache that nothing writes to: every module is compiled in every sample.
            child_env["PYTHONPYCACHEPREFIX"] = scratch
            child_env["PYTHONDONTWRITEBYTECODE"] = "1"
        samples: dict[str, list[ImportSample]] = {name: [] for name in statements}
        for _ in range(runs):
            for name, statement in statements.items():
                samples[name].append(sample(statement, child_env, cwd))
    return samples


def best(samples: Sequence[ImportSample]) -> float:
    """The figure of a statement: its least CPU time, in seconds."""
    return min(s.cpu_seconds for s in samples)


def added_packages(measured: ImportSample, baseline: ImportSample) -> list[tuple[str, int]]:
    """Top-level packages ``measured`` loaded beyond ``baseline``: (name, modules), most first."""
    added = Counter(name.split(".")[0] for name in measured.modules - baseline.modules)
    return added.most_common()
