"""The write side of Creditbank: aggregates, events, domain errors and the application.

Nothing in this package knows HTTP or the read side's SQL.
"""
