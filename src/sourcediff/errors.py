"""Errors the compiler raises about the user's code.

Every message names the file and absolute line of the user's source, shows that line with a caret
under the offending expression, and says what to do instead. The message shows the file's path
relative to the current directory when that is shorter; `exc.filename` stays absolute.
"""

from __future__ import annotations

import os


class SourceDiffError(Exception):
    """Base of every error sourcediff raises about the code it is asked to differentiate."""

    def __init__(self, message, *, filename=None, lineno=None, line=None, col=None, hint=None):
        self.reason = message
        self.filename = filename
        self.lineno = lineno
        self.line = line
        self.col = col
        self.hint = hint
        super().__init__(self._format())

    def _format(self):
        where = ""
        if self.filename is not None and self.lineno is not None:
            where = f"{shown_path(self.filename)}:{self.lineno}: "
        text = f"{where}{self.reason}"
        if self.line is not None:
            stripped = self.line.rstrip()
            text += f"\n    {stripped.strip()}"
            if self.col is not None:
                indent = len(stripped) - len(stripped.lstrip())
                caret_col = max(0, self.col - indent)
                text += "\n    " + " " * caret_col + "^"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def shown_path(path):
    """`path` as a message shows it: relative to the current directory when that is shorter
    (`examples/f.py` rather than `/home/me/project/examples/f.py`), else as it is."""
    if not isinstance(path, str) or not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(path)
    except (ValueError, OSError):   # on another drive (Windows), or no current directory
        return path
    return relative if len(relative) < len(path) else path


class UnsupportedSyntaxError(SourceDiffError):
    """The function uses a Python construct sourcediff does not differentiate."""


class MissingRuleError(SourceDiffError):
    """A call to a function that has no derivative rule and no Python source to read."""


class NonScalarOutputError(SourceDiffError):
    """`grad` was asked to differentiate a function whose output is not a scalar."""


class NoSourceError(SourceDiffError):
    """The function's source cannot be read (a builtin, a lambda typed in a REPL, ...)."""


class WrtError(SourceDiffError):
    """`wrt` names a parameter that does not exist or cannot be differentiated."""


class DomainError(SourceDiffError, ArithmeticError):
    """The derivative is not finite at the given point (the derivative of `sqrt` at 0, ...),
    where Python's floats raise instead of giving NumPy's inf or nan."""


class VectorModeError(SourceDiffError):
    """The vector (multi-directional) forward mode cannot carry this construct; `jacobian`
    and `hessian` then run one tangent pass per column, which supports it."""
