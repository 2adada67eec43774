"""Weekly summaries: per-user activity counters and the Monday summary email (``weekly_summary``)."""
