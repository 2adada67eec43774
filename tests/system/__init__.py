"""The system tier (``make test-system``, marker ``system``): the project's commands as processes.

``test_make_run.py`` starts ``python -m localdev.runner`` (what ``make run`` execs: moto server,
redis-server, the API, the scheduler) on free ports, drives it over HTTP and checks that SIGINT
stops every child; ``test_deploy_package.py`` runs ``chalice package`` for each stage and lints
the template with cfn-lint. Needs: the virtualenv and redis-server (``make system-deps``);
``chalice package`` fetches the Lambda (manylinux) wheels from PyPI on its first run and keeps
them in ``.chalice/deployments``. Costs: about 1.5 min with that cache warm; a fresh clone adds a
few minutes of downloads.
"""
