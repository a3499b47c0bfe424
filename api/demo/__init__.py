"""The demo bank: a realistic district written through the ledger's own commands.

Invariant: imports only ``ledger``; the command line runs it, the service never does.
"""
