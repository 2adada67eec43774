"""The schedules' EventBridge rules: read each one's expression and state, disable or enable it.

Each schedule fires from the rule ``<RESOURCE_PREFIX>-<schedule>`` (``controls.rule_name``): the
deploy template names the rules so (``infra/schedule_rules.py``), and locally the bootstrap
creates them on the emulator, where the local scheduler reads their state before each fire.
A disabled rule fires nothing; enabling it again resumes at the next scheduled time (EventBridge
does not catch up on the times it missed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.admin.controls import RuleView, State, rule_name, rule_state
from chalicelib.platform.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgeRules:
    """``ScheduleRules`` on EventBridge; a schedule's rule is ``<prefix>-<schedule>``."""

    def __init__(self, client: Callable[[], EventBridgeClient], prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _rule(self, schedule: str) -> str:
        return rule_name(self._prefix, schedule)

    def describe(self, schedule: str) -> RuleView:
        """The rule's expression and state. ``DependencyUnavailable`` when EventBridge does not
        answer or the rule does not exist (not deployed, or not bootstrapped)."""
        name = self._rule(schedule)
        try:
            rule = self._client().describe_rule(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise DependencyUnavailable(
                    f"the EventBridge rule {name} does not exist (deploy the stage, or run "
                    "`python -m infra.bootstrap` locally)"
                ) from exc
            raise DependencyUnavailable(f"EventBridge is unavailable ({exc})") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"EventBridge is unavailable ({exc})") from exc
        return RuleView(
            rule=name,
            expression=str(rule.get("ScheduleExpression", "")),
            state=rule_state(str(rule.get("State", ""))),
        )

    def set_state(self, schedule: str, state: State) -> RuleView:
        """Enable or disable the rule (idempotent); return it as it is now. Errors as
        ``describe``."""
        name = self._rule(schedule)
        try:
            if state == "paused":
                self._client().disable_rule(Name=name)
            else:
                self._client().enable_rule(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return self.describe(schedule)  # names the missing rule
            raise DependencyUnavailable(f"EventBridge is unavailable ({exc})") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"EventBridge is unavailable ({exc})") from exc
        return self.describe(schedule)
