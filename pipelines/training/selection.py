"""Which training checkpoint to keep, judged by the probes measured while it trained.

Each probe point holds the mean probability of the book's tuning probes (`book`), of the
neighbour probes (`neighbours`: general knowledge, other fiction) and the perplexity on held-out
retain text (`retain_ppl`). A point's forgetting is the fall of `book` against step 0; its excess
is how far the neighbours' fall and the perplexity's rise go past their limits. The rule: the
first point whose excess is 0 and whose forgetting meets the target (training stops there),
else the point with the most forgetting less twice its excess (the best trade-off measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.config import setting

EXCESS_WEIGHT = 2.0  # a point past a utility limit pays twice the overshoot in forgetting


@dataclass(frozen=True)
class SelectionConfig:
    keep_best: bool = setting(
        True, "Finish on the probe point this rule picks (needs a probe set); off: the last step."
    )
    forget_target: float = setting(
        0.9, "Stop at the first probe point whose book probes fell this much within the limits."
    )
    max_perplexity_rise: float = setting(0.05, "Retain perplexity may rise this much (0.05: 5%).")
    max_neighbour_fall: float = setting(
        0.05, "The neighbour probes (general knowledge, other fiction) may fall this much."
    )


@dataclass(frozen=True)
class Choice:
    index: int  # into the probe points
    step: int
    stop: bool  # the target is met: training can end here
    reason: str


def _fall(now: float | None, start: float | None) -> float:
    return 1.0 - now / start if now is not None and start else 0.0


def _rise(now: float | None, start: float | None) -> float:
    return now / start - 1.0 if now is not None and start else 0.0


def forgetting(point: dict, start: dict) -> float:
    return _fall(point.get("book"), start.get("book"))


def excess(point: dict, start: dict, config: SelectionConfig) -> float:
    """How far the point goes past the utility limits (0 within them)."""
    over_ppl = _rise(point.get("retain_ppl"), start.get("retain_ppl")) - config.max_perplexity_rise
    fall = _fall(point.get("neighbours"), start.get("neighbours")) - config.max_neighbour_fall
    return max(0.0, over_ppl) + max(0.0, fall)


def choose(points: Sequence[tuple[int, dict]], config: SelectionConfig) -> Choice:
    """The point to keep among those measured so far (see the module's docstring)."""
    start = points[0][1]
    best, best_score = len(points) - 1, float("-inf")
    for index, (step, point) in enumerate(points[1:], 1):  # step 0 is the model before training
        forgot, over = forgetting(point, start), excess(point, start, config)
        if over == 0 and forgot >= config.forget_target:
            return Choice(index, step, True, f"step {step}: the book probes fell {forgot:.0%}, "
                          "meeting the target within the utility limits")  # fmt: skip
        score = forgot - EXCESS_WEIGHT * over
        if score > best_score:
            best, best_score = index, score
    step, point = points[best]
    forgot, over = forgetting(point, start), excess(point, start, config)
    limits = "within the utility limits" if over == 0 else f"{over:.1%} past the utility limits"
    return Choice(best, step, False, f"step {step}: the best trade-off measured, the book probes "
                  f"fell {forgot:.0%}, {limits}")  # fmt: skip
