"""The command line's own refusals.

Invariant: a command that cannot do what it was asked raises ``CliError`` with one sentence a
person at a terminal can act on; ``main`` prints it as ``creditbank: <sentence>`` and exits
with its code. HTTP problems stay in the service: nothing here is problem+json.
"""

from __future__ import annotations

from marshmallow import ValidationError

from api.service.problems import flatten_messages


class CliError(Exception):
    """A command refused, said as a sentence; ``exit_code`` 2 for bad usage or input, 1 for a refusal."""

    def __init__(self, sentence: str, exit_code: int = 1) -> None:
        super().__init__(sentence)
        self.exit_code = exit_code


def invalid_fields(what: str, error: ValidationError) -> CliError:
    """A schema's refusal of a file, naming each field and what it expected."""
    fields = flatten_messages(error.messages)
    said = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in sorted(fields.items()))
    return CliError(f"{what} has invalid fields: {said}")
