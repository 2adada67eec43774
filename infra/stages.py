"""What ``.chalice/config.json`` says about a stage: its settings and its functions' timeouts.

Read the way Chalice reads it, so the deploy template, the IAM policy and the emulator bootstrap
see the same values as the deployed functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_TIMEOUT

from chalicelib.config import Settings
from localdev.scheduler import DEFAULT_TIMEOUT_SECONDS as LOCAL_RUN_TIMEOUT_SECONDS

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / ".chalice" / "config.json"
# The stages deployed to AWS (``local`` is the emulated stack's).
STAGES = ("dev", "prod")
# A function without a configured ``lambda_timeout`` runs for Chalice's default (60 s) in AWS and
# for the local runners' default (300 s, ``localdev``); what must outlast it uses the longer.
UNSET_TIMEOUT_SECONDS = max(DEFAULT_LAMBDA_TIMEOUT, LOCAL_RUN_TIMEOUT_SECONDS)


def _read(config_path: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(config_path.read_text())
    return config


def stage_config(stage: str, config_path: Path = CONFIG_PATH) -> dict[str, Any]:
    """The stage's Chalice settings with the top-level ones underneath (as Chalice merges them).

    ``SystemExit`` if the file has no such stage.
    """
    config = _read(config_path)
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage {stage!r} in {config_path}")
    stage_cfg = config["stages"][stage]
    merged = {k: v for k, v in config.items() if k != "stages"}
    merged.update(stage_cfg)
    merged["environment_variables"] = {
        **config.get("environment_variables", {}),
        **stage_cfg.get("environment_variables", {}),
    }
    return merged


def stage_settings(stage: str, config_path: Path = CONFIG_PATH) -> Settings:
    """The ``Settings`` the deployed functions of ``stage`` will build from their environment."""
    env = dict(stage_config(stage, config_path)["environment_variables"])
    return Settings.from_env(env)


def lambda_timeout(stage: str, function: str, config_path: Path = CONFIG_PATH) -> int:
    """Seconds ``function`` may run in ``stage``: its ``lambda_timeout`` as Chalice looks it up
    (the stage's ``lambda_functions`` entry, then the stage, then the top level), else
    ``UNSET_TIMEOUT_SECONDS``. A stage missing from the file has no configured timeouts."""
    config = Config(chalice_stage=stage, config_from_disk=_read(config_path))
    configured = config.scope(stage, function).lambda_timeout
    return int(configured) if configured is not None else UNSET_TIMEOUT_SECONDS
