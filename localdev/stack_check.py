"""Is the local stack running? For the tools that work against it without starting it.

``make invoke`` (``localdev/invoke.py``) and the standalone queue consumers
(``python -m localdev.consumers``) check the stack's endpoints first, so a stack that is not
running is one clear sentence, not a botocore traceback after its retries.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from localdev.env import StackConfig, url_port


def stack_problem(config: StackConfig) -> str | None:
    """What does not answer (the AWS endpoints, Redis), naming its variable; ``None`` if all do."""
    from localdev.services import port_open, redis_answers

    endpoints = [("AWS_ENDPOINT_URL", config.aws_endpoint_url)]
    if "AWS_ENDPOINT_URL_DYNAMODB" in config.app_env:
        endpoints.append(("AWS_ENDPOINT_URL_DYNAMODB", config.app_env["AWS_ENDPOINT_URL_DYNAMODB"]))
    for variable, url in endpoints:
        if not port_open(url_port(url, variable, 80), urlsplit(url).hostname or "127.0.0.1"):
            return f"nothing answers at {variable}={url}"
    if not redis_answers(config.redis_url):
        return f"nothing answers at REDIS_URL={config.redis_url}"
    return None
