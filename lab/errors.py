"""The lab's one error type: its message is the single line the CLI prints."""


class LabError(Exception):
    """Something the user can fix; the message says what and where to look."""
