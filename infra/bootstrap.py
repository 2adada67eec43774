"""Create the resources of ``infra/resources.py`` on the configured endpoint, idempotently.

Used by ``make run`` (moto server), the LocalStack tier (LocalStack + DynamoDB Local) and the
tests (moto in-process). Running it twice changes nothing the second time.

    python -m infra.bootstrap        # uses the same environment variables as the app
"""

from __future__ import annotations

import json
import sys
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clients import get_dynamodb, get_s3, get_ses
from chalicelib.config import Settings, get_settings
from infra.resources import bucket_resource, table_resources

_CREATE_TABLE_KEYS = (
    "TableName",
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
)


def ensure_tables(settings: Settings) -> list[str]:
    """Create missing tables (and their TTL); return the names created."""
    dynamodb = get_dynamodb()
    existing = set(dynamodb.list_tables()["TableNames"])
    created: list[str] = []
    for resource in table_resources(settings).values():
        props = resource["Properties"]
        name = props["TableName"]
        if name in existing:
            continue
        args: dict[str, Any] = {k: props[k] for k in _CREATE_TABLE_KEYS if k in props}
        try:
            dynamodb.create_table(**args)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
            continue  # created concurrently by another bootstrap
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        created.append(name)
    return created


def ensure_bucket(settings: Settings) -> None:
    """Create the bucket with its encryption, public access block and lifecycle rules."""
    s3 = get_s3()
    props = bucket_resource(settings)["Properties"]
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=settings.bucket)
        else:
            location: Any = {"LocationConstraint": settings.region}
            s3.create_bucket(Bucket=settings.bucket, CreateBucketConfiguration=location)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_bucket_encryption(
        Bucket=settings.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=settings.bucket,
        PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": rule["Id"],
                    "Status": rule["Status"],
                    "Filter": {"Prefix": rule["Prefix"]},
                    "Expiration": {"Days": rule["ExpirationInDays"]},
                }
                for rule in props["LifecycleConfiguration"]["Rules"]
            ]
        },
    )


def ensure_sender(settings: Settings) -> None:
    """Verify the SES sender (emulators verify at once; in AWS a mail asks the owner)."""
    get_ses().verify_email_identity(EmailAddress=settings.ses_sender)


def ensure_all(settings: Settings | None = None) -> dict[str, Any]:
    """Create everything that is missing; return what was done."""
    settings = settings or get_settings()
    created = ensure_tables(settings)
    ensure_bucket(settings)
    ensure_sender(settings)
    return {"tables_created": created, "bucket": settings.bucket, "sender": settings.ses_sender}


if __name__ == "__main__":
    json.dump(ensure_all(), sys.stdout)
    sys.stdout.write("\n")
