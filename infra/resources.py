"""The one definition of the AWS resources books-api needs, as CloudFormation resources.

Tables are derived from the PynamoDB models (key schema, indexes, TTL attribute), so a key is
declared exactly once. ``infra/bootstrap.py`` creates these resources on moto, LocalStack and
DynamoDB Local; the deploy template merges the same dictionaries into ``chalice package`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import TTLAttribute

from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_models import BoundModel
from chalicelib.tables import ALL_MODELS

REPORT_RETENTION_DAYS = 7
UPLOAD_RETENTION_DAYS = 1


def _logical_id(table_key: str) -> str:
    return "".join(part.capitalize() for part in table_key.split("_")) + "Table"


def _ttl_attribute(models: list[type[BoundModel]]) -> str | None:
    for model in models:
        for attr in model.get_attributes().values():
            if isinstance(attr, TTLAttribute):
                return attr.attr_name
    return None


def _keys(key_schema: Sequence[Any]) -> list[dict[str, str]]:
    """Key schema with HASH first, as CreateTable and CloudFormation require."""
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
        key=lambda k: k["KeyType"] != "HASH",
    )


def _merge_schemas(models: list[type[BoundModel]]) -> dict[str, Any]:
    """One table's schema from every model stored in it (they share the key attributes)."""
    definitions: dict[str, str] = {}
    key_schema: list[dict[str, str]] = []
    indexes: list[dict[str, Any]] = []
    for model in models:
        schema = model._get_schema()
        for definition in schema["attribute_definitions"]:
            definitions[definition["AttributeName"]] = definition["AttributeType"]
        if not key_schema:
            key_schema = _keys(schema["key_schema"])
        for index in schema["global_secondary_indexes"]:
            if all(i["IndexName"] != index["index_name"] for i in indexes):
                indexes.append(
                    {
                        "IndexName": index["index_name"],
                        "KeySchema": _keys(index["key_schema"]),
                        "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
                    }
                )
    result: dict[str, Any] = {
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())
        ],
        "KeySchema": key_schema,
    }
    if indexes:
        result["GlobalSecondaryIndexes"] = indexes
    return result


def table_resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """CloudFormation ``AWS::DynamoDB::Table`` resources keyed by logical id."""
    by_table: dict[str, list[type[BoundModel]]] = {}
    for model in ALL_MODELS:
        by_table.setdefault(model.table_key, []).append(model)
    resources: dict[str, dict[str, Any]] = {}
    for table_key, models in by_table.items():
        properties: dict[str, Any] = {
            "TableName": getattr(settings.tables, table_key),
            "BillingMode": "PAY_PER_REQUEST",
            **_merge_schemas(models),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        ttl = _ttl_attribute(models)
        if ttl:
            properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
        resources[_logical_id(table_key)] = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": properties,
        }
    return resources


def bucket_resource(settings: Settings) -> dict[str, Any]:
    """The S3 bucket for staged uploads and reports: encrypted, private, self-cleaning."""
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": settings.bucket,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-reports",
                        "Status": "Enabled",
                        "Prefix": f"{settings.report_prefix}/",
                        "ExpirationInDays": REPORT_RETENTION_DAYS,
                    },
                    {
                        "Id": "expire-staged-uploads",
                        "Status": "Enabled",
                        "Prefix": f"{settings.upload_prefix}/",
                        "ExpirationInDays": UPLOAD_RETENTION_DAYS,
                    },
                ]
            },
        },
    }


def ses_identity_resource(settings: Settings) -> dict[str, Any]:
    """The SES sender identity."""
    return {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": settings.ses_sender}}


def resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every resource: tables, the bucket and the SES identity."""
    return {
        **table_resources(settings),
        "FilesBucket": bucket_resource(settings),
        "SenderIdentity": ses_identity_resource(settings),
    }
