"""The error every command reports in one line, and how an exception becomes one."""

from __future__ import annotations

__all__ = ["CLIError", "one_line"]


class CLIError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


def one_line(exc: BaseException) -> str:
    """``exc``'s message with its whitespace collapsed, or its type's name if it has none.

    Examples
    --------
    >>> one_line(ValueError("bad\\n  value"))
    'bad value'
    >>> one_line(KeyError())
    'KeyError'
    """
    return " ".join(str(exc).split()) or type(exc).__name__
