"""Entry content made safe to show: decoded, clipped, capped.

Entry fields are hostile input. Jinja's autoescape makes them inert; this module
keeps pages small whatever an entry holds: bytes decode with replacement (invalid
UTF-8 shows as U+FFFD), a value longer than `MAX_VALUE_CHARS` is cut with a note of
how much was left out, and at most `MAX_FIELDS` fields are shown with a note of
how many more there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams_worker.core.streams import text

MAX_VALUE_CHARS = 2000
MAX_FIELDS = 200
MAX_CELL_CHARS = 160


@dataclass(frozen=True, slots=True)
class Shown:
    value: str
    omitted: int  # characters left out


def clip(value: Any, limit: int = MAX_VALUE_CHARS) -> Shown:
    s = "" if value is None else text(value)
    return Shown(s[:limit], max(len(s) - limit, 0))


@dataclass(frozen=True, slots=True)
class Fields:
    shown: list[tuple[Shown, Shown]]
    more: int  # fields not shown


def fields(raw: Mapping[Any, Any] | None, limit: int = MAX_FIELDS) -> Fields:
    items = list((raw or {}).items())
    return Fields([(clip(k, 200), clip(v)) for k, v in items[:limit]], max(len(items) - limit, 0))
