"""Engage's contact: its fields, normalization and field mapping."""
