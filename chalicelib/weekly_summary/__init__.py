"""Weekly summaries: per-user activity counters and the Monday email (``weekly_summary``)."""
