"""The JWT signing secret: from the environment locally, from SSM Parameter Store in AWS."""

from __future__ import annotations

from chalicelib.config import Settings


def jwt_secret(settings: Settings) -> str:
    """Return the signing secret; the SSM value is cached by Powertools for five minutes."""
    if settings.jwt_secret:
        return settings.jwt_secret
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(settings.jwt_secret_parameter, decrypt=True, max_age=300)
    return str(value)
