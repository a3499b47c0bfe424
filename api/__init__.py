"""The bank's edges: the HTTP service, the command line and the demo, each a folder of its own.

Invariants (checked by ``tests/unit/test_layers.py``):

- ``api.settings``, ``api.database`` and ``api.auth`` are shared by every folder and import none of them.
- ``api.service`` (the aiohttp service) imports only the shared modules, ``ledger`` and ``projections``.
- ``api.demo`` (the demo bank's builder) imports only ``ledger``.
- ``api.cli`` (the ``creditbank`` command) may import the service (to serve it) and the demo.
- Nothing outside ``api`` imports it, and ``ledger`` and ``projections`` never do.
"""
