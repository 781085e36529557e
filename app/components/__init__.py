"""Widgets that own their session-state keys."""
