"""The functional tier (``make test-functional``): the real app in-process on moto + redis-server.

Every route and both scheduled functions run through ``chalice.test.Client`` against moto (in
process, per test) and a real ``redis-server`` that the session starts on a free port
(``tests/conftest.py``). Needs: the virtualenv and redis-server (``make system-deps`` installs it
with apt); no network. Costs: a few minutes (about 4.5 min on a 2-core machine).
"""
