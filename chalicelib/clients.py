"""Lazily created, process-wide AWS and Redis clients.

Lambda reuses a warm process across invocations, so clients are built once on first use and
cached; nothing is created at import time. ``reset_clients()`` drops them (tests, settings change).
The endpoint comes from botocore's own ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``
support, so the same code talks to AWS, moto server, LocalStack or DynamoDB Local.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3
import redis
from botocore.config import Config as BotoConfig

from chalicelib.config import AwsClientSettings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

_lock = threading.Lock()


def botocore_config(settings: AwsClientSettings, service: str = "") -> BotoConfig:
    """The botocore configuration of every AWS client, from the one ``AwsClientSettings``.

    PynamoDB's models get the same timeouts and attempts (``dynamodb_models.bind_models``).
    """
    retries: Any = {"total_max_attempts": settings.max_attempts, "mode": settings.retry_mode}
    config = BotoConfig(
        retries=retries,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        max_pool_connections=settings.max_pool_connections,
    )
    if service == "s3":
        # Presigned report links must be SigV4 (SigV2 is legacy and refused in newer regions).
        config = config.merge(BotoConfig(signature_version="s3v4"))
    return config


@functools.cache
def _session() -> Any:
    # One session for the process: it caches the (large) service models its clients load.
    return boto3.session.Session()


@functools.cache
def _boto_client(service: str) -> Any:
    settings = get_settings()
    with _lock:  # boto3 sessions are not thread-safe while they create clients
        return _session().client(
            service,
            region_name=settings.region,
            config=botocore_config(settings.aws_client, service),
        )


def get_dynamodb() -> DynamoDBClient:
    """The low-level DynamoDB client (PynamoDB keeps its own connection)."""
    client: DynamoDBClient = _boto_client("dynamodb")
    return client


def get_s3() -> S3Client:
    """The S3 client."""
    client: S3Client = _boto_client("s3")
    return client


def get_ses() -> SESClient:
    """The SES (v1) client: raw sends with attachments go through v1 on every emulator."""
    client: SESClient = _boto_client("ses")
    return client


def get_sqs() -> SQSClient:
    """The SQS client (work queues and their dead-letter queues)."""
    client: SQSClient = _boto_client("sqs")
    return client


def get_events() -> EventBridgeClient:
    """The EventBridge client: the admin API reads and switches the schedules' rules."""
    client: EventBridgeClient = _boto_client("events")
    return client


def get_lambda() -> LambdaClient:
    """The Lambda client: the admin API reads and switches the queues' event source mappings."""
    client: LambdaClient = _boto_client("lambda")
    return client


@functools.lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    """A Redis client with short timeouts, so an ElastiCache outage degrades fast, not slowly.

    ``rediss://`` URLs switch TLS on and a password in the URL is sent as AUTH, which is how
    ElastiCache in-transit encryption with an AUTH token is configured.
    """
    settings = get_settings()
    timeout = settings.redis_timeout_seconds
    client: redis.Redis = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry_on_timeout=False,
        decode_responses=True,
    )
    return client


def reset_clients() -> None:
    """Forget every cached client and the settings (tests, or after the environment changed)."""
    _boto_client.cache_clear()
    _session.cache_clear()  # its credentials and endpoint come from the environment too
    if get_redis.cache_info().currsize:
        get_redis().close()
    get_redis.cache_clear()
    get_settings.cache_clear()
