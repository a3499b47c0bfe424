"""The browser console at ``/console/`` and the public certificate check at ``/verify``.

Invariants:
- the console is installed on the service's application by whoever serves it
  (``install(app)``, called by ``api.cli``); the service never imports it;
- every page but sign-in, ``/verify`` and the static assets needs a session
  (``api.console.session``), and reads and writes only through the bank's API as the
  session's token (``api.console.bank_api``);
- every asset is served by the bank itself (templates and ``static/`` ship in the package;
  Chart.js is vendored with its licence): a console page loads nothing from elsewhere.
"""

from __future__ import annotations

from api.console.app import install

__all__ = ["install"]
