"""The exports' adapters: S3 multipart writer, job store, file formats."""
