"""Unique stream, group and consumer names per test: isolation without FLUSHALL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Names:
    stream: str
    group: str
    consumer: str

    @classmethod
    def unique(cls, test_name: str) -> Names:
        tag = uuid.uuid4().hex[:10]
        base = test_name.split("[")[0][:40]
        return cls(stream=f"t:{base}:{tag}", group=f"g-{tag}", consumer=f"c-{tag}")

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"stream": self.stream, "group": self.group, "consumer": self.consumer, **overrides}
