"""One error type for the command line: a one-line reason plus a hint, never a traceback."""


class ShopctlError(Exception):
    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.reason}\n  hint: {self.hint}" if self.hint else self.reason


def unexpected(error: Exception, program: str) -> int:
    """A bug is still one line and a hint at the command line; SHOPCTL_DEBUG=1 re-raises for the traceback.
    Call it from an `except Exception` block; returns the exit status."""
    import os
    import sys

    if os.environ.get("SHOPCTL_DEBUG"):
        raise error
    print(f"error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
    print(f"  hint: this is a bug in {program}; SHOPCTL_DEBUG=1 shows the traceback", file=sys.stderr)
    return 1
