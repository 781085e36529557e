"""Evaluation: familiarity, judge, robustness, utility, reports."""
