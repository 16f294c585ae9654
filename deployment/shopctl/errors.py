"""One error type for the command line: a one-line reason plus a hint, never a traceback."""


class ShopctlError(Exception):
    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.reason}\n  hint: {self.hint}" if self.hint else self.reason
