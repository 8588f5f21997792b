"""One error family for everything a user can get wrong.

Every message says what was wrong, what was received and what to do; the CLI prints it as one or
two lines without a traceback and exits non-zero.
"""


# Where a message names its parameter: a NUL, which no !r-formatted value can contain.
PARAM = "\0"


class ZooError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = 2

    def __init__(self, message: str = "", *, param: str | None = None):
        # With ``param``, the message spells the parameter PARAM: Python callers read its Python
        # name (batch_size), the CLI shows its flag (--batch-size) through ``worded``.
        self.param = param
        self._template = message
        super().__init__(message.replace(PARAM, param) if param else message)

    def worded(self, flag: str | None = None) -> str:
        """The message with the parameter spelled ``flag`` (as the CLI user typed it)."""
        if self.param and flag:
            return self._template.replace(PARAM, flag)
        return str(self)


class UnknownNameError(ZooError):
    """A model, dataset, optimizer, method ... name that does not exist."""


class InvalidArgumentError(ZooError):
    """An argument with an impossible value (negative epochs, malformed shape ...)."""


class DataError(ZooError):
    """A missing, truncated or corrupt dataset file, or an unusable folder."""


class ModelFileError(ZooError):
    """A missing, corrupt or unsuitable model file or run directory."""


class TrainingError(ZooError):
    """Training could not go on (NaN loss, an output directory in the way ...)."""


def close_matches_hint(name: str, choices) -> str:
    """' Did you mean: a, b?' for a mistyped name, or the full list when nothing is close."""
    import difflib

    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return f" Did you mean: {', '.join(close)}?"
    shown = ", ".join(choices[:12]) + (" ..." if len(choices) > 12 else "")
    return f" Choose one of: {shown}."
