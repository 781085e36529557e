"""Unlearn Studio Streamlit UI: thin pages over `pipelines`."""
