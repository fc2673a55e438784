"""Backfilled filings: many new cases, each brought to its recorded outcome in one statement."""
