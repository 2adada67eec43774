#!/bin/bash
# LocalStack ready.d hook (Docker only): create the tables, bucket and SES sender from the one
# definition, infra/resources.py, by running `python -m infra.bootstrap` from the mounted project.
# The bootstrap needs only boto3, PynamoDB and redis-py, installed once into a throw-away venv at
# the versions pinned in requirements.txt.
set -euo pipefail

PROJECT="${BOOKS_API_DIR:-/workspace}"
VENV="${BOOKS_API_BOOTSTRAP_VENV:-/tmp/books-api-bootstrap}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet $(grep -E '^(boto3|pynamodb|redis)==' "$PROJECT/requirements.txt")
fi

cd "$PROJECT"
env AWS_ENDPOINT_URL="${BOOKS_API_LOCALSTACK_URL:-http://localhost:4566}" \
    AWS_ENDPOINT_URL_DYNAMODB="${BOOKS_API_DYNAMODB_URL:-http://dynamodb:8000}" \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
    JWT_SECRET=bootstrap-does-not-sign-anything \
    PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m infra.bootstrap
