"""Adapters: the only code that talks to DynamoDB, S3, SES and Redis."""
