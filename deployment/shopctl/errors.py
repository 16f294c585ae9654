"""One error type for the command line: a one-line reason plus a hint, never a traceback."""

import argparse
import sys


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

    if os.environ.get("SHOPCTL_DEBUG"):
        raise error
    print(f"error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
    print(f"  hint: this is a bug in {program}; SHOPCTL_DEBUG=1 shows the traceback", file=sys.stderr)
    return 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line and a hint too (not the whole usage block): what `make …`
    shows when a variable such as MODES= or PACKAGE= is off. Its subcommands' parsers are of this class."""

    def error(self, message: str):  # type: ignore[override]
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        hint = f"make help lists the targets and their variables; {self.prog} --help, the options"
        print(f"  hint: {hint}", file=sys.stderr)
        sys.exit(2)
