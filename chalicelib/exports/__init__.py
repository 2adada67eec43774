"""Catalogue exports: a user's whole catalogue as CSV, JSON or a printable PDF, in S3 (``POST /books/export``)."""
