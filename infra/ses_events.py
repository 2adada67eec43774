"""SES deliverability resources: the configuration set, its SNS event destination, the topic
``ses_events`` is subscribed to, and the two reputation alarms.

Every send names the configuration set (``SES_CONFIGURATION_SET``, ``<prefix>-emails``); it has
reputation metrics on and publishes Bounce, Complaint, Delivery and Reject events to the SNS
topic ``<prefix>-ses-events``, whose policy lets SES (of this account only) publish. Chalice
writes the ``ses_events`` function's SNS subscription with a topic ARN built from the name; the
merge template points it at this topic's ``Ref`` instead, so CloudFormation creates the
subscription after the topic (as ``event_sources.py`` does for the queues).

SES reviews an account at a 5 % bounce or 0.1 % complaint rate and may pause its sending at
10 % / 0.5 %; the alarms fire well before, at 2 % and 0.05 % (docs/deploy.md says what to do).
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

CONFIGURATION_SET_ID = "SesConfigurationSet"
TOPIC_ID = "SesEventTopic"
TOPIC_POLICY_ID = "SesEventTopicPolicy"
DESTINATION_ID = "SesEventDestination"


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


def ses_event_resources(settings: Settings, topic: str) -> dict[str, dict[str, Any]]:
    """The configuration set, the topic and its policy, the event destination and the alarms."""
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
    }


def subscription_override() -> dict[str, Any]:
    """The ``ses_events`` function's SNS event, pointed at the topic resource."""
    function = to_cfn_resource_name(SES_EVENTS_FUNCTION)
    event = to_cfn_resource_name(f"{SES_EVENTS_FUNCTION}-sns-subscription")
    topic = {"Topic": {"Fn::Sub": "${" + TOPIC_ID + "}"}}
    return {function: {"Properties": {"Events": {event: {"Properties": topic}}}}}
