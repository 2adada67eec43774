"""Transactional and bulk email: one outbox (SQS), one worker, one set of templates."""
