"""Batch layer: the Papermill runner and its engines."""
