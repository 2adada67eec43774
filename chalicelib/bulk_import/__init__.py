"""Bulk import: files of books submitted now, inserted later by the ``bulk_insert`` schedule.

``domain.py`` reads and checks submissions and plans rows, ``submit.py`` queues a file,
``insert.py`` runs the schedule (leases, checkpoints, chunked writes), ``queries.py`` serves a
user's bulk jobs and their row errors; ``adapters/`` the jobs tables, the S3 staging area
and the book writer (per row, a conditional ISBN claim, then the book).
"""
