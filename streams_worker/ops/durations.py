"""One way to print a duration, shared by the CLI tables and the console's pages."""

from __future__ import annotations


def age(ms: float | None) -> str:
    """A short human duration: 850ms, 12.3s, 4m05s, 2h10m, 3d04h."""
    if ms is None or ms < 0:
        return "-"
    if ms < 1000:
        return f"{int(ms)}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"
