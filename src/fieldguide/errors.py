"""One exception type for every user-facing mistake: it becomes one line and exit 2."""


class FieldGuideError(Exception):
    """A problem the reader can fix (bad flag, missing package, missing path...).

    ``run_main`` prints it as a single ``error: ...`` line and exits with status 2.
    """
