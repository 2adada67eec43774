"""The browser tier (``make test-browser``, marker ``browser``): the admin console in Chromium.

Headless Chromium from Debian (``chromium`` and ``chromium-driver``, installed with apt by
``make browser-deps``), driven by Selenium through ``/usr/bin/chromedriver``, so nothing is
downloaded at run time. One local stack (``python -m localdev.runner`` on free ports, as the
system tier starts it) serves ``/console``, the admin API and the local-only ``/_local/mail``
for every test. ``conftest.py`` has the fixtures (the stack, an admin and a non-admin account,
realistic seeded data, the browser, the console page with its browser log); ``support.py`` the
page helpers, ``seed.py`` the data. ``test_screenshots.py`` writes ``docs/console/*.png`` under
``make screenshots`` only. Needs: the virtualenv, redis-server, chromium and chromium-driver.
Costs: well under two minutes, about 15 s of which start the stack.
"""
