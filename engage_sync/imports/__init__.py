"""Importing a CSV of contacts: each row an ADDED event, a per-row report of results."""
