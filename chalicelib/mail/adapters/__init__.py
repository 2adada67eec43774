"""The mail feature's adapters: the SQS outbox, the send log (DynamoDB), SES and MIME."""
