"""The schedules' EventBridge rules, under names the admin API can find: ``<prefix>-<schedule>``.

``chalice package`` writes each ``@app.schedule`` function's trigger as a SAM ``Schedule`` event
named ``<Function>Event``, and SAM makes it an ``AWS::Events::Rule`` whose name CloudFormation
would generate (``<stack>-<Function><Event>-<random>``): nothing the API could look up. The merge
template sets the event's ``Name`` (passed to the rule's ``Name``) to
``controls.rule_name(RESOURCE_PREFIX, schedule)``, the name ``chalicelib/admin`` reads and
switches (``DescribeRule``, ``DisableRule``, ``EnableRule``), and the IAM policy grants those on
exactly these rules. Locally the bootstrap creates the same rules on the emulator
(``ensure_schedule_rules``), without targets: the local scheduler fires the functions and reads
each rule's state first.

A deploy leaves a rule's state alone unless it changes the rule itself (its schedule, its
name): CloudFormation then writes the rule with the template's state, enabled. Say so when a
schedule change ships while one is paused.
"""

from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.admin.controls import rule_name


def app_schedules() -> dict[str, str]:
    """``{schedule name: its expression}`` as ``app.py`` declares them (``rate(...)``,
    ``cron(...)``), in declaration order."""
    from chalice.app import ScheduledEventConfig

    from app import app

    found: dict[str, str] = {}
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            found[source.name] = text
    return found


def rule_names(prefix: str) -> dict[str, str]:
    """``{schedule name: its rule's name}`` for the stage whose resources start with ``prefix``."""
    return {name: rule_name(prefix, name) for name in app_schedules()}


def schedule_event_overrides(prefix: str) -> dict[str, Any]:
    """The part of each scheduled function's resource that the merge template sets: the
    rule's name."""
    overrides: dict[str, Any] = {}
    for schedule, rule in rule_names(prefix).items():
        event = to_cfn_resource_name(f"{schedule}-event")
        properties = {"Events": {event: {"Properties": {"Name": rule}}}}
        overrides[to_cfn_resource_name(schedule)] = {"Properties": properties}
    return overrides
