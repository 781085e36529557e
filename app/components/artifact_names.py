"""How a stored label set, evaluation or run is named in a choice: its number, what it is and
when it was made, never a file name."""

from __future__ import annotations


def _when(artifact) -> str:
    made = artifact.created_at
    return f" · made {made:%Y-%m-%d %H:%M}" if hasattr(made, "strftime") else ""


def label_set_name(artifact) -> str:
    config = artifact.meta.get("config", {})
    mode, alpha = config.get("mode"), config.get("alpha")
    what = f" · {mode} labels" if mode else ""
    strength = f" · alpha {alpha:g}" if isinstance(alpha, int | float) else ""
    return f"Label set #{artifact.id}{what}{strength}{_when(artifact)}"


def evaluation_name(artifact) -> str:
    models = ", ".join(m["name"] for m in artifact.meta.get("models", []))
    return f"Evaluation #{artifact.id} · {models}{_when(artifact)}"
