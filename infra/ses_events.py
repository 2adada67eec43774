"""SES deliverability resources: the configuration set, its SNS event destination, the topic
``ses_events`` is subscribed to, the two reputation alarms and the alarm on ``ses_events``'s
errors.

Every send names the configuration set (``SES_CONFIGURATION_SET``, ``<prefix>-emails``); it has
reputation metrics on and publishes Bounce, Complaint, Delivery and Reject events to the SNS
topic ``<prefix>-ses-events``, whose policy lets SES (of this account only) publish. Chalice
writes the ``ses_events`` function's SNS subscription with a topic ARN built from the name; the
merge template points it at this topic's ``Ref`` instead, so CloudFormation creates the
subscription after the topic (as ``event_sources.py`` does for the queues).

SES reviews an account at a 5 % bounce or 0.1 % complaint rate and may pause its sending at
10 % / 0.5 %; the alarms fire well before, at 2 % and 0.05 % (docs/deploy.md says what to do).

``ses_events`` has no queue, hence no dead-letter or age alarm: SNS invokes it asynchronously,
Lambda retries a failed invocation twice and then drops the event, and a bounce or complaint
dropped so leaves its address unmarked. Its ``AWS/Lambda`` ``Errors`` alarm says so at the
first failed invocation.
"""

from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.config import Settings, ses_event_topic
from infra.stages import stage_config

SES_EVENTS_FUNCTION = "ses_events"
# SES's event types as the configuration set's event destination names them.
PUBLISHED_EVENTS = ["bounce", "complaint", "delivery", "reject"]
BOUNCE_RATE_THRESHOLD = 0.02
COMPLAINT_RATE_THRESHOLD = 0.0005
# SES updates the reputation metrics a few times an hour; an hour's maximum is what it reviews.
REPUTATION_PERIOD_SECONDS = 3600
# Lambda publishes its metrics every minute; five minutes take in an invocation and its first
# retry (a minute later, AWS's default), so a failure that keeps coming back stays one alarm.
ERRORS_PERIOD_SECONDS = 300

CONFIGURATION_SET_ID = "SesConfigurationSet"
TOPIC_ID = "SesEventTopic"
TOPIC_POLICY_ID = "SesEventTopicPolicy"
DESTINATION_ID = "SesEventDestination"
ERRORS_ALARM_ID = "SesEventsErrorsAlarm"
# The logical id ``chalice package`` gives the function.
FUNCTION_ID = to_cfn_resource_name(SES_EVENTS_FUNCTION)


def stage_topic(stage: str) -> str:
    """The stage's SES event topic, as ``app.py`` subscribes ``ses_events`` to it there."""
    return ses_event_topic(stage_config(stage)["environment_variables"])


def _reputation_alarm(metric: str, threshold: float, description: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": "AWS/SES",
            "MetricName": metric,
            "Statistic": "Maximum",
            "Period": REPUTATION_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # No mail sent, no rate: nothing is wrong.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _errors_alarm(topic: str) -> dict[str, Any]:
    """``ses_events`` failed an invocation (its ``Errors``, summed over five minutes, above 0)."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"{topic}-errors",
            "AlarmDescription": (
                "ses_events failed to record an SES event (an invocation raised: the users table "
                "unreachable or throttled, say). Lambda retries it up to twice; an event whose "
                "three attempts fail is dropped, and a bounce or complaint dropped so leaves its "
                "address unmarked: mail keeps going to it. The function's logs show each failed "
                "invocation's error; see docs/background-jobs.md#ses_events."
            ),
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            # A SAM function's Ref is its name, as the metric's dimension wants it.
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": FUNCTION_ID}}],
            "Statistic": "Sum",
            "Period": ERRORS_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            # No invocation, no data: nothing failed.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def ses_event_resources(settings: Settings, topic: str) -> dict[str, dict[str, Any]]:
    """The configuration set, the topic and its policy, the event destination and the alarms
    (the reputation alarms, and ``ses_events``'s errors)."""
    name = settings.ses_configuration_set
    return {
        CONFIGURATION_SET_ID: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {
                "Name": name,
                "ReputationOptions": {"ReputationMetricsEnabled": True},
                "SendingOptions": {"SendingEnabled": True},
            },
        },
        TOPIC_ID: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": topic, "DisplayName": f"books-api {settings.stage} SES"},
        },
        TOPIC_POLICY_ID: {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": TOPIC_ID}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesPublishesThisAccountsEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": TOPIC_ID},
                            "Condition": {
                                "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        }
                    ],
                },
            },
        },
        DESTINATION_ID: {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "DependsOn": [TOPIC_POLICY_ID],
            "Properties": {
                "ConfigurationSetName": {"Ref": CONFIGURATION_SET_ID},
                "EventDestination": {
                    "Name": "sns-ses-events",
                    "Enabled": True,
                    "MatchingEventTypes": PUBLISHED_EVENTS,
                    "SnsDestination": {"TopicARN": {"Ref": TOPIC_ID}},
                },
            },
        },
        "SesBounceRateAlarm": _reputation_alarm(
            "Reputation.BounceRate",
            BOUNCE_RATE_THRESHOLD,
            "The account's SES bounce rate reached 2% (SES reviews it at 5%, may pause sending "
            "at 10%). GET /admin/suppressions lists the bounced addresses; see docs/deploy.md.",
        ),
        "SesComplaintRateAlarm": _reputation_alarm(
            "Reputation.ComplaintRate",
            COMPLAINT_RATE_THRESHOLD,
            "The account's SES complaint rate reached 0.05% (SES reviews it at 0.1%, may pause "
            "sending at 0.5%). See docs/deploy.md.",
        ),
        ERRORS_ALARM_ID: _errors_alarm(topic),
    }


def subscription_override() -> dict[str, Any]:
    """The ``ses_events`` function's SNS event, pointed at the topic resource."""
    event = to_cfn_resource_name(f"{SES_EVENTS_FUNCTION}-sns-subscription")
    topic = {"Topic": {"Fn::Sub": "${" + TOPIC_ID + "}"}}
    return {FUNCTION_ID: {"Properties": {"Events": {event: {"Properties": topic}}}}}
