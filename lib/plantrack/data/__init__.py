"""Data layer: load and validate a plan's Frictionless package (package), units (pint), ingest."""
