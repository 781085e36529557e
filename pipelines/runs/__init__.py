"""Runs: pipeline stages as jobs, the worker, run reports."""
