"""The quantisation probe: does forgotten knowledge return once the weights are quantised?

Users ship quantised models (GGUF, int8, int4). Zhang et al. (arXiv 2410.16454) found that
4-bit quantisation can bring back most of what an unlearning fine-tune removed, because small
weight changes round back to the original grid. The probe quantises a copy of the model's
linear weights with optimum-quanto (int8 per output channel; int4 in groups of 128, quanto's
defaults; the output head stays as it is) and measures probability familiarity again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

BITS = (8, 4)


def quantised(model, bits: int):
    """A copy of the model with weight-only quantised linear layers (the model is untouched)."""
    from optimum.quanto import freeze, qint4, qint8, quantize

    weights = {8: qint8, 4: qint4}.get(bits)
    if weights is None:
        raise ValueError(f"The quantisation probe knows 8 and 4 bits, not {bits}.")
    copied = copy.deepcopy(model)
    quantize(copied, weights=weights, exclude=["lm_head"])
    freeze(copied)
    return copied.eval()


def probe(model, measure, bits: Sequence[int] = BITS) -> dict:
    """`measure(model)` (e.g. probability familiarity) of each quantised copy, keyed `quant<b>`."""
    found = {}
    for b in bits:
        copied = quantised(model, b)
        found[f"quant{b}_prob"] = measure(copied)
        del copied
    return found


def returned_share(before: float | None, after: float | None, quantised_value: float | None):
    """The share of the forgotten familiarity that quantisation gives back: 0 none, 1 all.

    `before` is the baseline's familiarity, `after` the unlearned model's, `quantised_value` the
    unlearned model's once quantised. None when nothing was forgotten to begin with.
    """
    if before is None or after is None or quantised_value is None or before <= after:
        return None
    return (quantised_value - after) / (before - after)
