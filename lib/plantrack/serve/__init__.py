"""Serving layer: the Voila dashboard app and the server that hosts it."""
