"""The tier itself: every backing service answers and the app sees them as healthy."""

from __future__ import annotations

from typing import Any

import boto3

from localdev.localstack_tier import LocalStackTier


def test_health_is_ok_against_localstack_dynamodb_local_and_redis(api: Any) -> None:
    response = api.call("GET", "/health")

    assert response.status_code == 200, response.body
    assert response.json_body == {
        "status": "ok",
        "checks": {"redis": "ok", "dynamodb": "ok", "s3": "ok"},
    }


def test_bootstrap_created_every_table_on_dynamodb_local(aws: Any, tier: LocalStackTier) -> None:
    from infra.resources import table_resources

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    names = set(dynamodb.list_tables()["TableNames"])
    expected = {r["Properties"]["TableName"] for r in table_resources(aws).values()}

    assert dynamodb.meta.endpoint_url == tier.app_env()["AWS_ENDPOINT_URL_DYNAMODB"]
    assert expected <= names


def test_bucket_has_the_lifecycle_rules_of_the_one_definition(aws: Any) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=aws.bucket)["Rules"]

    assert {(r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules} == {
        (f"{aws.report_prefix}/", 7),
        (f"{aws.upload_prefix}/", 1),
        (f"{aws.export_prefix}/", 7),
    }
    (exports,) = [r for r in rules if r["Filter"]["Prefix"] == f"{aws.export_prefix}/"]
    assert exports["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_sts_answers_with_localstack_account(aws: Any) -> None:
    identity = boto3.client("sts", region_name="us-east-1").get_caller_identity()

    assert identity["Account"].isdigit() and len(identity["Account"]) == 12


def test_bootstrap_is_idempotent(tier: LocalStackTier) -> None:
    again = tier.bootstrap()

    assert again["tables_created"] == []
