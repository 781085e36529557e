"""The demo world and `unlearn demo`."""
