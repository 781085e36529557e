"""Anchor dictionary: propose terms, queue chunks for annotators, consolidate and publish."""
