"""The base of every PynamoDB model, and binding models to a stage's tables and client settings.

Each feature declares its own models (``<feature>/adapters/models.py``); ``chalicelib/tables.py``
lists them all for the local bootstrap and the CloudFormation template (``infra/resources.py``),
so key schemas and indexes are written exactly once.

Table names depend on the stage, so models are declared with a placeholder and bound by
``bind_models()`` when a repository is built (never at import). Binding also applies the one AWS
client configuration (``Settings.aws_client``): without it PynamoDB would use its own defaults
(15 s connect, 30 s read, 4 attempts), and one hung call could outlive the Lambda that made it.
"""

from __future__ import annotations

import functools
from typing import ClassVar

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.config import AwsClientSettings, Settings


class BoundModel(Model):
    """A model whose table name comes from ``Settings.tables.<table_key>``.

    PynamoDB reads a model's table name, region and connection options from its inner ``Meta``
    class; every subclass declares ``class Meta(BoundModel.Meta)`` so that each gets a ``Meta``
    of its own, which ``bind_models`` then points at the stage's table.
    """

    table_key: ClassVar[str] = ""

    class Meta:
        table_name = "unbound"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"
        # The one client configuration's defaults, replaced by ``bind_models`` with the settings.
        connect_timeout_seconds = AwsClientSettings.connect_timeout_seconds
        read_timeout_seconds = AwsClientSettings.read_timeout_seconds
        max_retry_attempts = AwsClientSettings.max_attempts - 1
        max_pool_connections = AwsClientSettings.max_pool_connections


def bind_models(settings: Settings, *models: type[BoundModel]) -> None:
    """Point ``models`` at the configured table names, region and client settings."""
    client = settings.aws_client
    for model in models:
        meta = model.Meta
        meta.table_name = getattr(settings.tables, model.table_key)
        meta.region = settings.region
        meta.connect_timeout_seconds = client.connect_timeout_seconds
        meta.read_timeout_seconds = client.read_timeout_seconds
        meta.max_retry_attempts = client.max_attempts - 1  # PynamoDB counts retries only
        meta.max_pool_connections = client.max_pool_connections
        # Drop a connection made for a previous binding (tests switch endpoints and names).
        model._connection = None


@functools.lru_cache(maxsize=4)
def transaction_connection(settings: Settings) -> Connection:
    """One PynamoDB connection for transactions, reused across calls (its client is costly)."""
    client = settings.aws_client
    return Connection(
        region=settings.region,
        connect_timeout_seconds=client.connect_timeout_seconds,
        read_timeout_seconds=client.read_timeout_seconds,
        max_retry_attempts=client.max_attempts - 1,
        max_pool_connections=client.max_pool_connections,
    )
