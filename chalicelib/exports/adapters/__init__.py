"""The exports' adapters: the job store (DynamoDB), the file store (S3), the catalogue PDF."""
