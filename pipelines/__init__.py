"""Unlearn Studio engine: every stage of the WHP pipeline, with no UI code."""
