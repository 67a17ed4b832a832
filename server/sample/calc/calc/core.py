"""Arithmetic helpers."""

import os


def add(a: int, b: int) -> int:
    return a + b


def mean(values: list[float]) -> float:
    if not values:
        return None
    return sum(values) / len(values)


def clamp(x: int, low: int, high: int) -> int:
    return max(low, min(x, high))
