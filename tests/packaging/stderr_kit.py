"""What a program may print on stderr in the packaging tests: nothing, except lines known to be
harmless. Anything else fails the test (qutebrowser's rule for its frozen build)."""

from __future__ import annotations

# The offscreen platform cannot size native windows and says so (pyproject's qt_log_ignore too).
HARMLESS = ("This plugin does not support propagateSizeHints()",)


def unexpected_stderr(text: str, also: tuple[str, ...] = ()) -> list[str]:
    """The lines of ``text`` that are neither blank nor one of the harmless (or ``also``) lines."""
    allowed = HARMLESS + also
    return [line for line in text.splitlines() if line.strip() and not any(a in line for a in allowed)]
