"""Arithmetic helpers."""

import os


def add(a: int, b: int) -> int:
    return a + b


def mean(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total = total + v
    return total / len(values)


def clamp(x: int, low: int, high: int) -> int:
    return max(low, min(x, high))
