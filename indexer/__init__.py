"""Indexer: Event Grid blob events to validated metadata, by-date copies and search documents."""
