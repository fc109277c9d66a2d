"""Sync rules: the AND/OR condition tree and its evaluation against a record."""
