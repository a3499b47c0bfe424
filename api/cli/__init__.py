"""The ``creditbank`` command line (entry point ``api.cli.main:main``).

Invariants: a command reports what went wrong as a ``CliError`` sentence on stderr with a
non-zero exit, never as an HTTP problem; this folder may import the service and the demo,
and neither imports it.
"""
