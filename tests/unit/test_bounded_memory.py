"""``ledger.memory.BoundedMemory``: never more than its bound (or one call's entries), and what
a call keeps is remembered whole, whatever the memory held before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.memory import BoundedMemory

calls = st.lists(st.dictionaries(st.integers(0, 50), st.integers(), max_size=8), max_size=30)


@given(bound=st.integers(1, 10), calls=calls)
def test_a_memory_holds_at_most_its_bound_and_every_calls_entries(bound: int, calls: list[dict[int, int]]) -> None:
    memory: BoundedMemory[int, int] = BoundedMemory(bound)
    for entries in calls:
        memory.keep(entries)
        assert len(memory) <= max(bound, len(entries))
        assert memory.known(entries) == entries


def test_an_entry_popped_or_cleared_is_not_known():
    memory: BoundedMemory[str, str] = BoundedMemory(10)
    memory.keep({"T-1": "s1", "T-2": "s1", "T-3": "s2"})
    assert sorted(memory.keys_with("s1")) == ["T-1", "T-2"]
    assert memory.pop("T-1") == "s1" and memory.pop("T-1") is None
    memory.clear()
    assert memory.known(["T-2", "T-3"]) == {} and "T-3" not in memory
