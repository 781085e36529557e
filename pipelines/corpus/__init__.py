"""Corpus: ingest forget and retain documents, split them into chunks."""
