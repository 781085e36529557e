"""Several people at once: the same work on threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(people: int, work: Callable[[], object]) -> tuple[list, list[Exception]]:
    """Run work on that many threads released together: (results, exceptions raised)."""
    go, results, failures = threading.Barrier(people), [], []

    def one() -> None:
        go.wait()
        try:
            results.append(work())
        except Exception as err:  # noqa: BLE001 - a failure is what the caller looks for
            failures.append(err)

    threads = [threading.Thread(target=one) for _ in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures
