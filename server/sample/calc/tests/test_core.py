from calc.core import add, clamp, mean


def test_add() -> None:
    assert add(2, 3) == 5


def test_mean() -> None:
    assert mean([1.0, 2.0, 3.0]) == 2.0


def test_clamp() -> None:
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0


def test_mean_empty() -> None:
    assert mean([]) == 0.0
