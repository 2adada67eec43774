"""The dependency rule is enforced: ``lint-imports`` keeps every contract of pyproject.toml.

The contracts (import-linter, ``[tool.importlinter]``) are the rule as code: domain-level
modules import only domain-level ones, use cases and ports never reach an adapter, routes go
through the wiring, features meet only at domain-level modules and ports, and chalicelib never
imports local-only code. ``make lint`` runs the same check; this test puts it in the unit tier.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"

    done = subprocess.run(
        [str(lint_imports), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
