"""Shared adapters: the DynamoDB model base and error translation, and the health probes."""
