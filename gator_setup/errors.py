"""GatorError and its subclasses: known failures that print as one line and exit 2."""

from __future__ import annotations

from collections.abc import Iterable


class GatorError(Exception):
    """A failure gator understands: printed as one line (no traceback), exit code 2."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UsageError(GatorError):
    """The command line or configuration asks for something impossible."""


class InputError(GatorError):
    """An input file or path cannot be read or parsed."""

    def __init__(self, path: object, problem: str, *, line: int | None = None, hint: str | None = None):
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}", hint=hint)
        self.path = path
        self.line = line


class InterpreterError(GatorError):
    """The target interpreter (--python) is missing or does not run."""


class UnknownNameError(GatorError):
    """A name (profile, model, check code) that gator does not know, with close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, hint: str | None = None) -> None:
        import difflib

        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        msg = f"Unknown {kind} {name!r}."
        if close:
            msg += f" Did you mean: {', '.join(close)}?"
        else:
            msg += f" Available: {', '.join(known)}." if known else ""
        super().__init__(msg, hint=hint)
        self.name = name
        self.close_matches = close


class NetworkError(GatorError):
    """A network resource (Hub, mirror, upstream) could not be reached or did not answer in time.

    Its own exit code (3) lets a script tell "try again later" from a usage mistake (2).
    """

    exit_code = 3
