"""The README.md model card written into every trained model folder, and its results section."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS_HEADING = "## Evaluation"


def render(title: str, facts: dict, hyperparameters: dict) -> str:
    """A card saying what the model is, how it was trained and how to load it."""
    lines = [f"# {title}", "", "Made with Unlearn Studio.", ""]
    lines += [f"- **{key}**: {value}" for key, value in facts.items() if value not in (None, "")]
    lines += [
        "",
        "## Hyperparameters",
        "",
        "```json",
        json.dumps(hyperparameters, indent=1, default=str),
        "```",
        "",
        "## Loading",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        'model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")',
        'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
        "```",
        "",
        RESULTS_HEADING,
        "",
        "Not evaluated yet.",
        "",
    ]
    return "\n".join(lines)


def add_results(model_dir: Path, results: dict) -> None:
    """Replace the card's evaluation section with a table of the given metrics."""
    card = model_dir / "README.md"
    head = card.read_text().split(RESULTS_HEADING)[0] if card.exists() else ""
    rows = [f"| {name} | {value} |" for name, value in results.items()]
    table = "\n".join(["| metric | value |", "|---|---|", *rows])
    card.write_text(f"{head}{RESULTS_HEADING}\n\n{table}\n")
