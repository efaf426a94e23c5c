"""Loaders for the offline datasets (no network at run time)."""
