"""Presentation layer: charts (Altair), messages (zh/en catalogue), HTML templates, sector reports."""
