"""User-facing errors: each says what went wrong and how to fix it.

The CLI turns an `AssistantError` into one line on stderr and an exit code; the web page
shows its message. Anything else is a bug and may show a traceback.
"""


class AssistantError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 1


class UsageError(AssistantError):
    """The command was called wrongly (bad flag value, missing folder)."""

    exit_code = 2


class IndexMissingError(AssistantError):
    """No index has been built yet."""


class StoreUnavailableError(AssistantError):
    """The Chroma server (or the index folder) cannot be reached or written."""
