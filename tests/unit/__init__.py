"""The unit tier (``make test-unit``): rules, use cases on fakes, runner logic, repository checks.

Needs: the virtualenv only. No service, no port, no network; the one subprocess is
``lint-imports`` (``test_import_layers.py``). Costs: seconds (about 5 s on this project's
2-core machines). Run it after every change.
"""
