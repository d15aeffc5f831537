"""Judging layer: level, trajectory and projection of each target (progress); where sources disagree (findings)."""
