"""The HTTP service: the aiohttp app, its one routes table, the handlers and the schemas beside them.

Invariant: imports nothing from ``api.cli`` or ``api.demo``; what the command line needs from it
(the app factory, a schema) it imports from here, never the other way round.
"""
