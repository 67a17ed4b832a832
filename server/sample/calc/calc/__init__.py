"""A tiny calculator package used as a grading fixture."""
