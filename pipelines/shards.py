"""Work shared across the processes of `accelerate launch`: every n-th batch to each process.

Each process takes the same batches one process would make, so results do not depend on how
many processes ran; `shared_map` gathers them back in order on every process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pipelines.training.loop import process_state

T = TypeVar("T")
R = TypeVar("R")


def my_batches(items: Sequence[T], batch_size: int) -> list[tuple[int, Sequence[T]]]:
    """(batch index, batch) for this process's share of the batches of `items`."""
    state = process_state()
    starts = range(0, len(items), batch_size)
    return [
        (index, items[start : start + batch_size])
        for index, start in enumerate(starts)
        if index % state.num_processes == state.process_index
    ]


def shared_map(
    work: Callable[[int, Sequence[T]], list[R]], items: Sequence[T], batch_size: int
) -> list[R]:
    """`work(batch index, batch)` over this process's batches, everyone's results in order.

    Under several processes every one of them must call it (it gathers), with the same items.
    """
    mine = [(index, work(index, batch)) for index, batch in my_batches(items, batch_size)]
    if process_state().num_processes > 1:
        from accelerate.utils import gather_object

        mine = gather_object(mine)
    return [value for _, found in sorted(mine, key=lambda pair: pair[0]) for value in found]
