"""User-facing errors: raised for bad input, printed by the CLIs as one line."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., int | None])


class UserError(Exception):
    """A problem with the user's input or environment, with what to do about it."""


def one_line(err: UserError) -> str:
    """The error's message; raised in a DataLoader worker, torch re-raises it with the worker's traceback in the
    message, and only its last line (``...UserError: <message>``) is the message."""
    text = str(err)
    if "Original Traceback" not in text:
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    return last.split("UserError: ", 1)[-1]


def cli_entry(fn: F) -> F:
    """Wrap a CLI ``main`` so that a :class:`UserError` prints one line and exits 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            print(f"error: {one_line(err)}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
