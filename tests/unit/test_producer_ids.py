"""Article ID validation and partition routing (no Redis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producer.enqueue import invalid_reason, partition_index


@pytest.mark.parametrize(
    "good",
    ["urn:article:vitamin-d-and-bone-density", "urn:article:a", "urn:article:A_1.v2",
     "urn:article:" + "x" * 200],
)  # fmt: skip
def test_catalog_urns_are_accepted(good: str) -> None:
    assert invalid_reason(good) is None


@pytest.mark.parametrize(
    "bad",
    ["", "vitamin-d", "urn:article:", "urn:article:-lead", "urn:article:a b",
     "urn:articles:a", "URN:ARTICLE:a", "urn:article:a/b", "urn:article:" + "x" * 201,
     "urn:article:é"],
)  # fmt: skip
def test_anything_else_is_rejected_with_a_reason(bad: str) -> None:
    reason = invalid_reason(bad)
    assert reason
    assert len(reason) < 140  # one readable line, even for huge input


@given(st.text(max_size=300), st.integers(1, 1024))
def test_routing_is_always_in_range_and_deterministic(article_id: str, n: int) -> None:
    first = partition_index(article_id, n)
    assert 0 <= first < n
    assert partition_index(article_id, n) == first


def test_one_partition_takes_everything() -> None:
    assert {partition_index(f"urn:article:{i}", 1) for i in range(100)} == {0}
