"""Text that came from a file (a model's name, attribute names) made safe to print or show."""
from __future__ import annotations

import re
import unicodedata

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def printable(text: object, limit: int = 200) -> str:
    """Drop ANSI escape sequences and every other control or format character; cut to ``limit``."""
    text = _ANSI.sub("", str(text))
    text = "".join(c if unicodedata.category(c)[0] != "C" else "" for c in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
