"""Catalogue exports: a user's whole catalogue as CSV, JSON or a printable PDF, in S3.

``POST /books/export`` queues a job, ``export_worker`` makes the file, ``GET /jobs/{job_id}``
links it; ``GET /books/export.csv`` answers a small catalogue's CSV at once.
"""
