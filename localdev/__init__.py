"""Local-only tooling: the ``make run`` runner, the scheduler, the local gateway. Never shipped."""
