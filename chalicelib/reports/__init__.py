"""Reports: the ``send_reports`` schedule renders, stages and emails one PDF per user.

``domain.py`` holds what a report shows and the delivery states, ``service.py`` the run (exactly
once through the deliveries table), ``queries.py`` the report history and dead letters,
``ratelimit.py`` the SES pacing; ``adapters/`` the PDF renderer, SES mailer, S3 archive, and the
reports and deliveries tables.
"""
