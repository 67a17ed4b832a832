"""Tasks D: small simulations, intervals, clocks and counters."""

import random

from ._helpers import sample, task


def _grid(r: random.Random) -> list[str]:
    h, w = r.randint(1, 5), r.randint(1, 5)
    return ["".join(r.choice("#..") for _ in range(w)) for _ in range(h)]


def _sorted_disjoint(r: random.Random) -> list[tuple[int, int]]:
    out, at = [], r.randint(0, 3)
    for _ in range(r.randint(0, 3)):
        start = at + r.randint(0, 3)
        end = start + r.randint(0, 4)
        out.append((start, end))
        at = end + 1
    return out


TASKS = [
    task(
        "spiral_order", "dev",
        "def spiral_order(matrix: list[list[int]]) -> list[int]:",
        """Return the elements of a rectangular matrix in clockwise spiral order.

        Start at the top-left corner and go right along the top row, then down, left and up,
        spiralling inwards. An empty matrix ([] or [[]]) gives [].
        """,
        """
        def spiral_order(matrix: list[list[int]]) -> list[int]:
            out: list[int] = []
            if not matrix or not matrix[0]:
                return out
            top, bottom, left, right = 0, len(matrix) - 1, 0, len(matrix[0]) - 1
            while top <= bottom and left <= right:
                for c in range(left, right + 1):
                    out.append(matrix[top][c])
                for r in range(top + 1, bottom + 1):
                    out.append(matrix[r][right])
                if top < bottom:
                    for c in range(right - 1, left - 1, -1):
                        out.append(matrix[bottom][c])
                if left < right:
                    for r in range(bottom - 1, top, -1):
                        out.append(matrix[r][left])
                top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
            return out
        """,
        [
            """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                rows = [list(r) for r in matrix if r]
                out: list[int] = []
                while rows:
                    out.extend(rows.pop(0))
                    rows = [list(r) for r in zip(*rows)][::-1]
                return out
            """,
            """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                if not matrix or not matrix[0]:
                    return []
                h, w = len(matrix), len(matrix[0])
                seen = [[False] * w for _ in range(h)]
                moves = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                r = c = k = 0
                result = []
                for _ in range(h * w):
                    result.append(matrix[r][c])
                    seen[r][c] = True
                    nr, nc = r + moves[k][0], c + moves[k][1]
                    if not (0 <= nr < h and 0 <= nc < w) or seen[nr][nc]:
                        k = (k + 1) % 4
                        nr, nc = r + moves[k][0], c + moves[k][1]
                    r, c = nr, nc
                return result
            """,
            """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                out: list[int] = []
                if not matrix or not matrix[0]:
                    return out
                layers = (min(len(matrix), len(matrix[0])) + 1) // 2
                for d in range(layers):
                    t, b, lft, rgt = d, len(matrix) - 1 - d, d, len(matrix[0]) - 1 - d
                    out += matrix[t][lft : rgt + 1]
                    out += [matrix[i][rgt] for i in range(t + 1, b + 1)]
                    if t < b:
                        out += matrix[b][lft:rgt][::-1]
                    if lft < rgt:
                        out += [matrix[i][lft] for i in range(b - 1, t, -1)]
                return out
            """,
        ],
        [
            ("edge_case", """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                out: list[int] = []
                if not matrix or not matrix[0]:
                    return out
                top, bottom, left, right = 0, len(matrix) - 1, 0, len(matrix[0]) - 1
                while top <= bottom and left <= right:
                    for c in range(left, right + 1):
                        out.append(matrix[top][c])
                    for r in range(top + 1, bottom + 1):
                        out.append(matrix[r][right])
                    for c in range(right - 1, left - 1, -1):
                        out.append(matrix[bottom][c])
                    for r in range(bottom - 1, top, -1):
                        out.append(matrix[r][left])
                    top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
                return out
            """),
            ("crash_on_empty", """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                out: list[int] = []
                top, bottom, left, right = 0, len(matrix) - 1, 0, len(matrix[0]) - 1
                while top <= bottom and left <= right:
                    for c in range(left, right + 1):
                        out.append(matrix[top][c])
                    for r in range(top + 1, bottom + 1):
                        out.append(matrix[r][right])
                    if top < bottom:
                        for c in range(right - 1, left - 1, -1):
                            out.append(matrix[bottom][c])
                    if left < right:
                        for r in range(bottom - 1, top, -1):
                            out.append(matrix[r][left])
                    top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
                return out
            """),
            ("misreading", """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                rows = [list(r) for r in matrix if r]
                rows = [list(col) for col in zip(*rows)]
                out: list[int] = []
                while rows:
                    out.extend(rows.pop(0))
                    rows = [list(r) for r in zip(*rows)][::-1]
                return out
            """),
            ("partial", """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                if not matrix or not matrix[0]:
                    return []
                h, w = len(matrix), len(matrix[0])
                out = list(matrix[0])
                out += [matrix[r][w - 1] for r in range(1, h)]
                if h > 1:
                    out += matrix[h - 1][: w - 1][::-1]
                if w > 1:
                    out += [matrix[r][0] for r in range(h - 2, 0, -1)]
                return out
            """),
            ("misreading", """
            def spiral_order(matrix: list[list[int]]) -> list[int]:
                out: list[int] = []
                for i, row in enumerate(matrix):
                    out.extend(row if i % 2 == 0 else row[::-1])
                return out
            """),
        ],
        [
            ([[]], []), ([[[]]], []), ([[[1]]], [1]), ([[[1, 2, 3]]], [1, 2, 3]), ([[[1], [2], [3]]], [1, 2, 3]),
            ([[[1, 2], [3, 4]]], [1, 2, 4, 3]), ([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], [1, 2, 3, 6, 9, 8, 7, 4, 5]),
            ([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]], [1, 2, 3, 4, 8, 12, 11, 10, 9, 5, 6, 7]),
            ([[[1, 2], [3, 4], [5, 6]]], [1, 2, 4, 6, 5, 3]),
        ],
        [[[]], [[[]]], [[[7]]], [[[1, 2]]], [[[1], [2]]]]
        + sample("spiral_order", lambda r: [
            (lambda h, w: [[r.randint(0, 9) for _ in range(w)] for _ in range(h)])(r.randint(1, 4), r.randint(1, 4))]),
    ),
    task(
        "life_step", "test",
        "def life_step(grid: list[str]) -> list[str]:",
        """Advance Conway's Game of Life by one generation on a finite grid.

        The grid is a list of equal-length strings of '#' (alive) and '.' (dead). Cells
        outside the grid are dead; nothing wraps around. A live cell with 2 or 3 live
        neighbours (of its 8) stays alive, a dead cell with exactly 3 becomes alive, and every
        other cell is dead in the next generation. Return the new grid in the same format.
        """,
        """
        def life_step(grid: list[str]) -> list[str]:
            h = len(grid)
            w = len(grid[0]) if grid else 0
            out = []
            for r in range(h):
                row = []
                for c in range(w):
                    n = 0
                    for dr in (-1, 0, 1):
                        for dc in (-1, 0, 1):
                            if (dr or dc) and 0 <= r + dr < h and 0 <= c + dc < w:
                                n += grid[r + dr][c + dc] == "#"
                    alive = grid[r][c] == "#"
                    row.append("#" if n == 3 or (alive and n == 2) else ".")
                out.append("".join(row))
            return out
        """,
        [
            """
            def life_step(grid: list[str]) -> list[str]:
                live = {(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == "#"}

                def count(r: int, c: int) -> int:
                    return sum((r + dr, c + dc) in live
                               for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)

                return ["".join("#" if count(r, c) == 3 or ((r, c) in live and count(r, c) == 2) else "."
                                for c in range(len(row))) for r, row in enumerate(grid)]
            """,
            """
            def life_step(grid: list[str]) -> list[str]:
                if not grid:
                    return []
                w = len(grid[0])
                padded = ["." * (w + 2)] + ["." + row + "." for row in grid] + ["." * (w + 2)]
                result = []
                for r in range(1, len(grid) + 1):
                    cells = []
                    for c in range(1, w + 1):
                        block = [padded[rr][c - 1 : c + 2] for rr in (r - 1, r, r + 1)]
                        n = "".join(block).count("#") - (padded[r][c] == "#")
                        if padded[r][c] == "#":
                            cells.append("#" if n in (2, 3) else ".")
                        else:
                            cells.append("#" if n == 3 else ".")
                    result.append("".join(cells))
                return result
            """,
            """
            OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


            def life_step(grid: list[str]) -> list[str]:
                rows, cols = len(grid), len(grid[0]) if grid else 0

                def alive(r: int, c: int) -> bool:
                    return 0 <= r < rows and 0 <= c < cols and grid[r][c] == "#"

                new = []
                for r in range(rows):
                    line = ""
                    for c in range(cols):
                        k = sum(alive(r + dr, c + dc) for dr, dc in OFFSETS)
                        line += "#" if k == 3 or (k == 2 and alive(r, c)) else "."
                    new.append(line)
                return new
            """,
        ],
        [
            ("misreading", """
            def life_step(grid: list[str]) -> list[str]:
                h = len(grid)
                w = len(grid[0]) if grid else 0
                out = []
                for r in range(h):
                    row = []
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if dr or dc:
                                    n += grid[(r + dr) % h][(c + dc) % w] == "#"
                        alive = grid[r][c] == "#"
                        row.append("#" if n == 3 or (alive and n == 2) else ".")
                    out.append("".join(row))
                return out
            """),
            ("partial", """
            def life_step(grid: list[str]) -> list[str]:
                cells = [list(row) for row in grid]
                h = len(cells)
                w = len(cells[0]) if cells else 0
                for r in range(h):
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if (dr or dc) and 0 <= r + dr < h and 0 <= c + dc < w:
                                    n += cells[r + dr][c + dc] == "#"
                        alive = cells[r][c] == "#"
                        cells[r][c] = "#" if n == 3 or (alive and n == 2) else "."
                return ["".join(row) for row in cells]
            """),
            ("other", """
            def life_step(grid: list[str]) -> list[str]:
                h = len(grid)
                w = len(grid[0]) if grid else 0
                out = []
                for r in range(h):
                    row = []
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if 0 <= r + dr < h and 0 <= c + dc < w:
                                    n += grid[r + dr][c + dc] == "#"
                        alive = grid[r][c] == "#"
                        row.append("#" if n == 3 or (alive and n == 2) else ".")
                    out.append("".join(row))
                return out
            """),
            ("edge_case", """
            def life_step(grid: list[str]) -> list[str]:
                h = len(grid)
                w = len(grid[0]) if grid else 0
                out = []
                for r in range(h):
                    row = []
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if (dr or dc) and r + dr < h and c + dc < w:
                                    n += grid[r + dr][c + dc] == "#"
                        alive = grid[r][c] == "#"
                        row.append("#" if n == 3 or (alive and n == 2) else ".")
                    out.append("".join(row))
                return out
            """),
            ("misreading", """
            def life_step(grid: list[str]) -> list[str]:
                h = len(grid)
                w = len(grid[0]) if grid else 0
                out = []
                for r in range(h):
                    row = []
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if (dr or dc) and 0 <= r + dr < h and 0 <= c + dc < w:
                                    n += grid[r + dr][c + dc] == "#"
                        row.append("#" if n in (2, 3) else ".")
                    out.append("".join(row))
                return out
            """),
            ("wrong_type", """
            def life_step(grid: list[str]) -> list[str]:
                h = len(grid)
                w = len(grid[0]) if grid else 0
                out = []
                for r in range(h):
                    row = []
                    for c in range(w):
                        n = 0
                        for dr in (-1, 0, 1):
                            for dc in (-1, 0, 1):
                                if (dr or dc) and 0 <= r + dr < h and 0 <= c + dc < w:
                                    n += grid[r + dr][c + dc] == "#"
                        alive = grid[r][c] == "#"
                        row.append("#" if n == 3 or (alive and n == 2) else ".")
                    out.append(row)
                return out
            """),
        ],
        [
            ([[]], []), ([["..."]], ["..."]),
            ([[".....", "..#..", "..#..", "..#..", "....."]], [".....", ".....", ".###.", ".....", "....."]),
            ([["##", "##"]], ["##", "##"]), ([["#"]], ["."]), ([["###"]], [".#."]),
            ([[".#...", "..#..", "###..", ".....", "....."]], [".....", "#.#..", ".##..", ".#...", "....."]),
            ([["##.", "#..", "..."]], ["##.", "##.", "..."]), ([["#.#", "...", ".#."]], ["...", ".#.", "..."]),
        ],
        [[[]], [["."]], [["#"]], [["##"]], [["#.", ".#"]], [["...", "###", "..."]]]
        + sample("life_step", lambda r: [_grid(r)]),
    ),
    task(
        "apply_transactions", "dev",
        "def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:",
        """Apply account operations in order, starting from balance, and return the final balance.

        ('deposit', x) adds x. ('withdraw', x) subtracts x only if the balance is at least x;
        otherwise that withdrawal is skipped entirely and processing continues. Operations
        with any other name are ignored. Amounts are non-negative.
        """,
        """
        def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
            for name, amount in ops:
                if name == "deposit":
                    balance += amount
                elif name == "withdraw" and balance >= amount:
                    balance -= amount
            return balance
        """,
        [
            """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for op in ops:
                    match op:
                        case ("deposit", amount):
                            balance += amount
                        case ("withdraw", amount) if amount <= balance:
                            balance -= amount
                        case _:
                            pass
                return balance
            """,
            """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                total = balance
                for kind, value in ops:
                    if kind == "withdraw":
                        if value > total:
                            continue
                        total -= value
                    elif kind == "deposit":
                        total += value
                return total
            """,
            """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                effects = {"deposit": 1, "withdraw": -1}
                for name, amount in ops:
                    sign = effects.get(name, 0)
                    if balance + sign * amount >= 0 or sign > 0:
                        balance += sign * amount
                return balance
            """,
        ],
        [
            ("misreading", """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for name, amount in ops:
                    if name == "deposit":
                        balance += amount
                    elif name == "withdraw":
                        balance = max(0, balance - amount)
                return balance
            """),
            ("off_by_one", """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for name, amount in ops:
                    if name == "deposit":
                        balance += amount
                    elif name == "withdraw" and balance > amount:
                        balance -= amount
                return balance
            """),
            ("partial", """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for name, amount in ops:
                    if name == "deposit":
                        balance += amount
                    elif name == "withdraw":
                        balance -= amount
                return balance
            """),
            ("edge_case", """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for name, amount in ops:
                    if name == "deposit":
                        balance += amount
                    elif balance >= amount:
                        balance -= amount
                return balance
            """),
            ("misreading", """
            def apply_transactions(balance: int, ops: list[tuple[str, int]]) -> int:
                for name, amount in ops:
                    if name == "deposit":
                        balance += amount
                    elif name == "withdraw":
                        if balance < amount:
                            break
                        balance -= amount
                return balance
            """),
        ],
        [
            ([100, [("deposit", 50), ("withdraw", 30)]], 120), ([10, [("withdraw", 20)]], 10),
            ([10, [("withdraw", 10)]], 0), ([0, []], 0), ([5, [("bonus", 1), ("deposit", 1)]], 6),
            ([50, [("withdraw", 60), ("deposit", 5), ("withdraw", 20)]], 35),
            ([0, [("deposit", 0), ("withdraw", 0)]], 0), ([30, [("withdraw", 10), ("withdraw", 10), ("withdraw", 11)]], 10),
        ],
        [[0, []], [5, [("withdraw", 5)]], [5, [("withdraw", 6)]], [1, [("fee", 1)]]]
        + sample("apply_transactions", lambda r: [r.randint(0, 30), [
            (r.choice(["deposit", "withdraw", "withdraw", "fee"]), r.choice([0, 5, 10, 15, 20, 30]))
            for _ in range(r.randint(0, 5))]]),
    ),
    task(
        "robot_position", "test",
        "def robot_position(commands: str) -> tuple[int, int]:",
        """Return the final (x, y) of a robot that starts at (0, 0) facing north (+y).

        'F' moves one step forward, 'B' one step backward without turning, 'L' and 'R' turn
        90 degrees left and right on the spot. Any other character is ignored.
        """,
        """
        def robot_position(commands: str) -> tuple[int, int]:
            dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
            x = y = 0
            heading = 0
            for ch in commands:
                if ch == "L":
                    heading = (heading - 1) % 4
                elif ch == "R":
                    heading = (heading + 1) % 4
                elif ch in "FB":
                    step = 1 if ch == "F" else -1
                    x += dirs[heading][0] * step
                    y += dirs[heading][1] * step
            return (x, y)
        """,
        [
            """
            def robot_position(commands: str) -> tuple[int, int]:
                pos = 0j
                facing = 1j
                for c in commands:
                    if c == "L":
                        facing *= 1j
                    elif c == "R":
                        facing *= -1j
                    elif c == "F":
                        pos += facing
                    elif c == "B":
                        pos -= facing
                return (int(pos.real), int(pos.imag))
            """,
            """
            def robot_position(commands: str) -> tuple[int, int]:
                x, y, dx, dy = 0, 0, 0, 1
                for c in commands:
                    if c == "R":
                        dx, dy = dy, -dx
                    elif c == "L":
                        dx, dy = -dy, dx
                    elif c == "F":
                        x, y = x + dx, y + dy
                    elif c == "B":
                        x, y = x - dx, y - dy
                return x, y
            """,
            """
            MOVES = {"N": (0, 1), "E": (1, 0), "S": (0, -1), "W": (-1, 0)}
            RIGHT = {"N": "E", "E": "S", "S": "W", "W": "N"}
            LEFT = {v: k for k, v in RIGHT.items()}


            def robot_position(commands: str) -> tuple[int, int]:
                facing = "N"
                x = y = 0
                for cmd in commands:
                    if cmd == "R":
                        facing = RIGHT[facing]
                    elif cmd == "L":
                        facing = LEFT[facing]
                    elif cmd in ("F", "B"):
                        sign = 1 if cmd == "F" else -1
                        x += sign * MOVES[facing][0]
                        y += sign * MOVES[facing][1]
                return (x, y)
            """,
        ],
        [
            ("misreading", """
            def robot_position(commands: str) -> tuple[int, int]:
                dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                x = y = 0
                heading = 0
                for ch in commands:
                    if ch == "L":
                        heading = (heading + 1) % 4
                    elif ch == "R":
                        heading = (heading - 1) % 4
                    elif ch in "FB":
                        step = 1 if ch == "F" else -1
                        x += dirs[heading][0] * step
                        y += dirs[heading][1] * step
                return (x, y)
            """),
            ("misreading", """
            def robot_position(commands: str) -> tuple[int, int]:
                dirs = [(0, -1), (1, 0), (0, 1), (-1, 0)]
                x = y = 0
                heading = 0
                for ch in commands:
                    if ch == "L":
                        heading = (heading - 1) % 4
                    elif ch == "R":
                        heading = (heading + 1) % 4
                    elif ch in "FB":
                        step = 1 if ch == "F" else -1
                        x += dirs[heading][0] * step
                        y += dirs[heading][1] * step
                return (x, y)
            """),
            ("partial", """
            def robot_position(commands: str) -> tuple[int, int]:
                dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                x = y = 0
                heading = 0
                for ch in commands:
                    if ch == "L":
                        heading = (heading - 1) % 4
                    elif ch == "R":
                        heading = (heading + 1) % 4
                    elif ch == "F":
                        x += dirs[heading][0]
                        y += dirs[heading][1]
                return (x, y)
            """),
            ("edge_case", """
            def robot_position(commands: str) -> tuple[int, int]:
                turns = {"L": -1, "R": 1, "F": 0, "B": 0}
                dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                x = y = heading = 0
                for ch in commands:
                    heading = (heading + turns[ch]) % 4
                    if ch in "FB":
                        step = 1 if ch == "F" else -1
                        x += dirs[heading][0] * step
                        y += dirs[heading][1] * step
                return (x, y)
            """),
            ("wrong_type", """
            def robot_position(commands: str) -> tuple[int, int]:
                dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                pos = [0, 0]
                heading = 0
                for ch in commands:
                    if ch == "L":
                        heading = (heading - 1) % 4
                    elif ch == "R":
                        heading = (heading + 1) % 4
                    elif ch in "FB":
                        step = 1 if ch == "F" else -1
                        pos[0] += dirs[heading][0] * step
                        pos[1] += dirs[heading][1] * step
                return pos
            """),
            ("misreading", """
            def robot_position(commands: str) -> tuple[int, int]:
                dirs = [(0, 1), (1, 0), (0, -1), (-1, 0)]
                x = y = 0
                heading = 0
                for ch in commands:
                    if ch == "L":
                        heading = (heading - 1) % 4
                    elif ch == "R":
                        heading = (heading + 1) % 4
                    elif ch == "B":
                        heading = (heading + 2) % 4
                    if ch in "FB":
                        x += dirs[heading][0]
                        y += dirs[heading][1]
                return (x, y)
            """),
        ],
        [
            ([""], (0, 0)), (["F"], (0, 1)), (["LF"], (-1, 0)), (["RF"], (1, 0)), (["FFRFF"], (2, 2)),
            (["B"], (0, -1)), (["RRF"], (0, -1)), (["FxF"], (0, 2)), (["LLLLF"], (0, 1)), (["RBF"], (0, 0)),
            (["FBBLF"], (-1, -1)),
        ],
        [[""], ["L"], ["BB"], ["RFRF"], ["F F"], ["?"]]
        + sample("robot_position", lambda r: ["".join(r.choice("FFFBLRx") for _ in range(r.randint(0, 10)))]),
    ),
    task(
        "finish_times", "dev",
        "def finish_times(arrivals: list[int], service: int) -> list[int]:",
        """Simulate one server handling jobs first-come, first-served.

        arrivals is a non-decreasing list of arrival times (>= 0); every job takes service
        time units (service >= 1). A job starts as soon as it has arrived and the server is
        free. Return the finish time of every job, in order.
        """,
        """
        def finish_times(arrivals: list[int], service: int) -> list[int]:
            out: list[int] = []
            free_at = 0
            for a in arrivals:
                free_at = max(free_at, a) + service
                out.append(free_at)
            return out
        """,
        [
            """
            from itertools import accumulate


            def finish_times(arrivals: list[int], service: int) -> list[int]:
                return list(accumulate(arrivals, lambda done, a: max(done, a) + service, initial=0))[1:]
            """,
            """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                finishes: list[int] = []
                for i, arrival in enumerate(arrivals):
                    start = arrival if i == 0 else max(arrival, finishes[-1])
                    finishes.append(start + service)
                return finishes
            """,
            """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                clock = 0
                result = []
                for t in arrivals:
                    if clock < t:
                        clock = t
                    clock += service
                    result.append(clock)
                return result
            """,
        ],
        [
            ("partial", """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                if not arrivals:
                    return []
                t = arrivals[0]
                out = []
                for _ in arrivals:
                    t += service
                    out.append(t)
                return out
            """),
            ("misreading", """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                return [a + service for a in arrivals]
            """),
            ("off_by_one", """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                out: list[int] = []
                free_at = -1
                for a in arrivals:
                    free_at = max(free_at + 1, a) + service
                    out.append(free_at)
                return out
            """),
            ("crash_on_empty", """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                out = [arrivals[0] + service]
                for a in arrivals[1:]:
                    out.append(max(out[-1], a) + service)
                return out
            """),
            ("misreading", """
            def finish_times(arrivals: list[int], service: int) -> list[int]:
                out: list[int] = []
                free_at = 0
                for a in arrivals:
                    start = max(free_at, a)
                    out.append(start)
                    free_at = start + service
                return out
            """),
        ],
        [
            ([[], 3], []), ([[0], 5], [5]), ([[0, 0, 0], 2], [2, 4, 6]), ([[0, 10], 3], [3, 13]),
            ([[1, 2, 3], 5], [6, 11, 16]), ([[5, 5, 20], 10], [15, 25, 35]), ([[0, 3], 3], [3, 6]),
            ([[2, 2, 9], 4], [6, 10, 14]),
        ],
        [[[], 1], [[0], 1], [[3], 2], [[0, 1], 1], [[4, 4], 4]]
        + sample("finish_times", lambda r: [sorted(r.randint(0, 20) for _ in range(r.randint(0, 6))),
                                            r.randint(1, 6)]),
    ),
    task(
        "interval_intersections", "test",
        "def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:",
        """Intersect two lists of closed intervals.

        Each list holds (start, end) intervals with start <= end, sorted and pairwise
        disjoint. Return every non-empty intersection of an interval of a with one of b, as
        (start, end) tuples in increasing order. A single shared point counts (start == end).
        """,
        """
        def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
            out: list[tuple[int, int]] = []
            i = j = 0
            while i < len(a) and j < len(b):
                lo = max(a[i][0], b[j][0])
                hi = min(a[i][1], b[j][1])
                if lo <= hi:
                    out.append((lo, hi))
                if a[i][1] < b[j][1]:
                    i += 1
                else:
                    j += 1
            return out
        """,
        [
            """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                found = []
                for s1, e1 in a:
                    for s2, e2 in b:
                        if max(s1, s2) <= min(e1, e2):
                            found.append((max(s1, s2), min(e1, e2)))
                return sorted(found)
            """,
            """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                result = []
                i, j = 0, 0
                while i < len(a) and j < len(b):
                    (s1, e1), (s2, e2) = a[i], b[j]
                    if e1 < s2:
                        i += 1
                    elif e2 < s1:
                        j += 1
                    else:
                        result.append((max(s1, s2), min(e1, e2)))
                        if e1 <= e2:
                            i += 1
                        else:
                            j += 1
                return result
            """,
            """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                pieces = [
                    (max(x[0], y[0]), min(x[1], y[1]))
                    for x in a
                    for y in b
                    if not (x[1] < y[0] or y[1] < x[0])
                ]
                pieces.sort(key=lambda p: p[0])
                return pieces
            """,
        ],
        [
            ("misreading", """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                out: list[tuple[int, int]] = []
                i = j = 0
                while i < len(a) and j < len(b):
                    lo = max(a[i][0], b[j][0])
                    hi = min(a[i][1], b[j][1])
                    if lo < hi:
                        out.append((lo, hi))
                    if a[i][1] < b[j][1]:
                        i += 1
                    else:
                        j += 1
                return out
            """),
            ("partial", """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                out: list[tuple[int, int]] = []
                i = j = 0
                while i < len(a) and j < len(b):
                    lo = max(a[i][0], b[j][0])
                    hi = min(a[i][1], b[j][1])
                    if lo <= hi:
                        out.append((lo, hi))
                        i += 1
                    elif a[i][1] < b[j][1]:
                        i += 1
                    else:
                        j += 1
                return out
            """),
            ("wrong_type", """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                out = []
                i = j = 0
                while i < len(a) and j < len(b):
                    lo = max(a[i][0], b[j][0])
                    hi = min(a[i][1], b[j][1])
                    if lo <= hi:
                        out.append([lo, hi])
                    if a[i][1] < b[j][1]:
                        i += 1
                    else:
                        j += 1
                return out
            """),
            ("other", """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                out: list[tuple[int, int]] = []
                i = j = 0
                while i < len(a) and j < len(b):
                    lo = max(a[i][0], b[j][0])
                    hi = min(a[i][1], b[j][1])
                    if lo <= hi:
                        out.append((lo, hi))
                    if a[i][1] > b[j][1]:
                        i += 1
                    else:
                        j += 1
                return out
            """),
            ("edge_case", """
            def interval_intersections(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
                out: list[tuple[int, int]] = []
                i = j = 0
                while i < len(a) and j < len(b):
                    out.append((max(a[i][0], b[j][0]), min(a[i][1], b[j][1])))
                    if a[i][1] < b[j][1]:
                        i += 1
                    else:
                        j += 1
                return out
            """),
        ],
        [
            ([[], [(1, 2)]], []), ([[(0, 2), (5, 10)], [(1, 5), (8, 12)]], [(1, 2), (5, 5), (8, 10)]),
            ([[(1, 3)], [(3, 4)]], [(3, 3)]), ([[(1, 10)], [(2, 3), (4, 5)]], [(2, 3), (4, 5)]),
            ([[(1, 2)], [(3, 4)]], []), ([[(0, 5)], [(0, 5)]], [(0, 5)]),
            ([[(2, 3), (4, 5)], [(1, 10)]], [(2, 3), (4, 5)]), ([[(0, 1), (3, 4)], [(1, 3)]], [(1, 1), (3, 3)]),
        ],
        [[[], []], [[(0, 0)], [(0, 0)]], [[(1, 5)], []], [[(0, 3)], [(3, 9)]]]
        + sample("interval_intersections", lambda r: [_sorted_disjoint(r), _sorted_disjoint(r)]),
    ),
    task(
        "free_slots", "dev",
        "def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:",
        """Return the free time slots of a working day.

        busy holds half-open intervals [start, end) in any order; they may overlap and may
        reach outside the day. The day is [day_start, day_end). Return the free intervals
        inside the day as (start, end) tuples, sorted, each of positive length.
        """,
        """
        def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
            free: list[tuple[int, int]] = []
            cursor = day_start
            for start, end in sorted(busy):
                if start > cursor:
                    stop = min(start, day_end)
                    if stop > cursor:
                        free.append((cursor, stop))
                cursor = max(cursor, end)
            if cursor < day_end:
                free.append((cursor, day_end))
            return free
        """,
        [
            """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                taken = set()
                for s, e in busy:
                    taken.update(range(max(s, day_start), min(e, day_end)))
                slots: list[tuple[int, int]] = []
                for t in range(day_start, day_end):
                    if t in taken:
                        continue
                    if slots and slots[-1][1] == t:
                        slots[-1] = (slots[-1][0], t + 1)
                    else:
                        slots.append((t, t + 1))
                return slots
            """,
            """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                merged: list[list[int]] = []
                for s, e in sorted(busy):
                    if merged and s <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], e)
                    else:
                        merged.append([s, e])
                result = []
                prev = day_start
                for s, e in merged:
                    lo, hi = prev, min(s, day_end)
                    if hi > lo:
                        result.append((lo, hi))
                    prev = max(prev, e)
                if day_end > prev:
                    result.append((prev, day_end))
                return result
            """,
            """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                clipped = sorted((max(s, day_start), min(e, day_end)) for s, e in busy)
                gaps = []
                at = day_start
                for s, e in clipped:
                    if s >= e:
                        continue
                    if s > at:
                        gaps.append((at, s))
                    at = max(at, e)
                if at < day_end:
                    gaps.append((at, day_end))
                return gaps
            """,
        ],
        [
            ("edge_case", """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                free: list[tuple[int, int]] = []
                cursor = day_start
                for start, end in busy:
                    if start > cursor:
                        stop = min(start, day_end)
                        if stop > cursor:
                            free.append((cursor, stop))
                    cursor = max(cursor, end)
                if cursor < day_end:
                    free.append((cursor, day_end))
                return free
            """),
            ("partial", """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                free: list[tuple[int, int]] = []
                cursor = day_start
                for start, end in sorted(busy):
                    if start > cursor:
                        stop = min(start, day_end)
                        if stop > cursor:
                            free.append((cursor, stop))
                    cursor = end
                if cursor < day_end:
                    free.append((cursor, day_end))
                return free
            """),
            ("edge_case", """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                free: list[tuple[int, int]] = []
                cursor = day_start
                for start, end in sorted(busy):
                    if start >= cursor and cursor < day_end:
                        free.append((cursor, min(start, day_end)))
                    cursor = max(cursor, end)
                if cursor < day_end:
                    free.append((cursor, day_end))
                return free
            """),
            ("misreading", """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                free: list[tuple[int, int]] = []
                cursor = day_start
                for start, end in sorted(busy):
                    if start > cursor:
                        free.append((cursor, start))
                    cursor = max(cursor, end)
                if cursor < day_end:
                    free.append((cursor, day_end))
                return free
            """),
            ("misreading", """
            def free_slots(busy: list[tuple[int, int]], day_start: int, day_end: int) -> list[tuple[int, int]]:
                free: list[tuple[int, int]] = []
                cursor = day_start
                for start, end in sorted(busy):
                    if start - 1 > cursor:
                        free.append((cursor, min(start - 1, day_end)))
                    cursor = max(cursor, end + 1)
                if cursor < day_end:
                    free.append((cursor, day_end))
                return free
            """),
        ],
        [
            ([[], 9, 17], [(9, 17)]), ([[(9, 10), (12, 13)], 9, 17], [(10, 12), (13, 17)]),
            ([[(12, 13), (9, 10)], 9, 17], [(10, 12), (13, 17)]), ([[(9, 12), (10, 11)], 9, 17], [(12, 17)]),
            ([[(10, 11), (11, 12)], 9, 17], [(9, 10), (12, 17)]), ([[(8, 18)], 9, 17], []),
            ([[(16, 20)], 9, 17], [(9, 16)]), ([[(7, 10), (15, 16)], 9, 17], [(10, 15), (16, 17)]),
            ([[(18, 19)], 9, 17], [(9, 17)]),
        ],
        [[[], 0, 1], [[(0, 1)], 0, 1], [[(2, 3)], 0, 5], [[(1, 2), (1, 2)], 0, 4]]
        + sample("free_slots", lambda r: [
            [(s, s + r.randint(0, 4)) for s in (r.randint(5, 19) for _ in range(r.randint(0, 4)))], 8, 18]),
    ),
    task(
        "covered_length", "test",
        "def covered_length(intervals: list[tuple[int, int]]) -> int:",
        """Return the total length covered by the union of half-open intervals [start, end).

        Intervals have start <= end, come in any order and may overlap or touch.
        """,
        """
        def covered_length(intervals: list[tuple[int, int]]) -> int:
            total = 0
            cur_start = cur_end = None
            for start, end in sorted(intervals):
                if cur_end is None or start > cur_end:
                    if cur_end is not None and cur_start is not None:
                        total += cur_end - cur_start
                    cur_start, cur_end = start, end
                else:
                    cur_end = max(cur_end, end)
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            return total
        """,
        [
            """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                points: set[int] = set()
                for start, end in intervals:
                    points.update(range(start, end))
                return len(points)
            """,
            """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
                depth = 0
                total = 0
                last = 0
                for x, delta in events:
                    if depth > 0:
                        total += x - last
                    depth += delta
                    last = x
                return total
            """,
            """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                merged: list[list[int]] = []
                for s, e in sorted(intervals):
                    if merged and s <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], e)
                    else:
                        merged.append([s, e])
                return sum(e - s for s, e in merged)
            """,
        ],
        [
            ("partial", """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                return sum(end - start for start, end in intervals)
            """),
            ("edge_case", """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                merged: list[list[int]] = []
                for s, e in intervals:
                    if merged and s <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], e)
                    else:
                        merged.append([s, e])
                return sum(e - s for s, e in merged)
            """),
            ("off_by_one", """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                points: set[int] = set()
                for start, end in intervals:
                    points.update(range(start, end + 1))
                return len(points)
            """),
            ("other", """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                ordered = sorted(intervals)
                total = 0
                for i, (s, e) in enumerate(ordered):
                    if i > 0 and s < ordered[i - 1][1]:
                        s = min(ordered[i - 1][1], e)
                    total += e - s
                return total
            """),
            ("misreading", """
            def covered_length(intervals: list[tuple[int, int]]) -> int:
                if not intervals:
                    return 0
                return max(e for _, e in intervals) - min(s for s, _ in intervals)
            """),
        ],
        [
            ([[]], 0), ([[(1, 3)]], 2), ([[(1, 3), (2, 5)]], 4), ([[(1, 2), (3, 4)]], 2),
            ([[(0, 10), (1, 2), (3, 4)]], 10), ([[(5, 6), (1, 3)]], 3), ([[(2, 2)]], 0), ([[(1, 4), (4, 6)]], 5),
            ([[(3, 6), (1, 4)]], 5),
        ],
        [[[]], [[(0, 0)]], [[(0, 1), (0, 1)]], [[(5, 9), (0, 2)]]]
        + sample("covered_length", lambda r: [
            [(s, s + r.randint(0, 5)) for s in (r.randint(0, 12) for _ in range(r.randint(0, 5)))]]),
    ),
    task(
        "stack_machine", "dev",
        "def stack_machine(program: list[str]) -> list[int]:",
        """Run a tiny stack program and return the final stack, bottom first.

        Instructions: 'push N' (N an integer, possibly negative), 'pop', 'dup', 'swap' (the
        top two), 'add' and 'sub'. 'add' and 'sub' pop b (the top) and then a, and push a + b
        or a - b. An instruction that needs more values than the stack holds does nothing.
        """,
        """
        def stack_machine(program: list[str]) -> list[int]:
            stack: list[int] = []
            for line in program:
                op, _, arg = line.partition(" ")
                if op == "push":
                    stack.append(int(arg))
                elif op == "pop" and stack:
                    stack.pop()
                elif op == "dup" and stack:
                    stack.append(stack[-1])
                elif op == "swap" and len(stack) >= 2:
                    stack[-1], stack[-2] = stack[-2], stack[-1]
                elif op in ("add", "sub") and len(stack) >= 2:
                    b = stack.pop()
                    a = stack.pop()
                    stack.append(a + b if op == "add" else a - b)
            return stack
        """,
        [
            """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for instr in program:
                    match instr.split():
                        case ["push", n]:
                            stack.append(int(n))
                        case ["pop"] if stack:
                            stack.pop()
                        case ["dup"] if stack:
                            stack.append(stack[-1])
                        case ["swap"] if len(stack) > 1:
                            stack[-2:] = stack[-2:][::-1]
                        case ["add"] if len(stack) > 1:
                            b, a = stack.pop(), stack.pop()
                            stack.append(a + b)
                        case ["sub"] if len(stack) > 1:
                            b, a = stack.pop(), stack.pop()
                            stack.append(a - b)
                return stack
            """,
            """
            from collections.abc import Callable

            BINARY: dict[str, Callable[[int, int], int]] = {
                "add": lambda a, b: a + b,
                "sub": lambda a, b: a - b,
            }


            def stack_machine(program: list[str]) -> list[int]:
                st: list[int] = []
                for line in program:
                    parts = line.split()
                    name = parts[0]
                    if name == "push":
                        st.append(int(parts[1]))
                    elif name in BINARY:
                        if len(st) >= 2:
                            right = st.pop()
                            left = st.pop()
                            st.append(BINARY[name](left, right))
                    elif name == "pop":
                        if st:
                            st.pop()
                    elif name == "dup":
                        if st:
                            st.append(st[-1])
                    elif name == "swap":
                        if len(st) >= 2:
                            st.append(st.pop(-2))
                return st
            """,
            """
            def stack_machine(program: list[str]) -> list[int]:
                need = {"pop": 1, "dup": 1, "swap": 2, "add": 2, "sub": 2}
                s: list[int] = []
                for line in program:
                    if line.startswith("push "):
                        s.append(int(line[5:]))
                        continue
                    if len(s) < need.get(line, 0):
                        continue
                    if line == "pop":
                        s.pop()
                    elif line == "dup":
                        s.append(s[-1])
                    elif line == "swap":
                        s[-1], s[-2] = s[-2], s[-1]
                    elif line == "add":
                        s[-2:] = [s[-2] + s[-1]]
                    elif line == "sub":
                        s[-2:] = [s[-2] - s[-1]]
                return s
            """,
        ],
        [
            ("misreading", """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for line in program:
                    op, _, arg = line.partition(" ")
                    if op == "push":
                        stack.append(int(arg))
                    elif op == "pop" and stack:
                        stack.pop()
                    elif op == "dup" and stack:
                        stack.append(stack[-1])
                    elif op == "swap" and len(stack) >= 2:
                        stack[-1], stack[-2] = stack[-2], stack[-1]
                    elif op in ("add", "sub") and len(stack) >= 2:
                        b = stack.pop()
                        a = stack.pop()
                        stack.append(a + b if op == "add" else b - a)
                return stack
            """),
            ("crash_on_empty", """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for line in program:
                    op, _, arg = line.partition(" ")
                    if op == "push":
                        stack.append(int(arg))
                    elif op == "pop":
                        stack.pop()
                    elif op == "dup":
                        stack.append(stack[-1])
                    elif op == "swap":
                        stack[-1], stack[-2] = stack[-2], stack[-1]
                    elif op in ("add", "sub"):
                        b = stack.pop()
                        a = stack.pop()
                        stack.append(a + b if op == "add" else a - b)
                return stack
            """),
            ("partial", """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for line in program:
                    op, _, arg = line.partition(" ")
                    if op == "push" and arg.isdigit():
                        stack.append(int(arg))
                    elif op == "pop" and stack:
                        stack.pop()
                    elif op == "dup" and stack:
                        stack.append(stack[-1])
                    elif op == "swap" and len(stack) >= 2:
                        stack[-1], stack[-2] = stack[-2], stack[-1]
                    elif op in ("add", "sub") and len(stack) >= 2:
                        b = stack.pop()
                        a = stack.pop()
                        stack.append(a + b if op == "add" else a - b)
                return stack
            """),
            ("edge_case", """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for line in program:
                    op, _, arg = line.partition(" ")
                    if op == "push":
                        stack.append(int(arg))
                    elif op == "pop" and stack:
                        stack.pop()
                    elif op == "dup" and stack:
                        stack.append(stack[-1])
                    elif op == "swap" and len(stack) >= 2:
                        stack[-1], stack[-2] = stack[-2], stack[-1]
                    elif op in ("add", "sub") and stack:
                        b = stack.pop()
                        if not stack:
                            continue
                        a = stack.pop()
                        stack.append(a + b if op == "add" else a - b)
                return stack
            """),
            ("other", """
            def stack_machine(program: list[str]) -> list[int]:
                stack: list[int] = []
                for line in program:
                    op, _, arg = line.partition(" ")
                    if op == "push":
                        stack.append(int(arg))
                    elif op == "pop" and stack:
                        stack.pop()
                    elif op == "dup" and stack:
                        stack.append(stack[-1])
                    elif op == "swap" and len(stack) >= 2:
                        stack.reverse()
                    elif op in ("add", "sub") and len(stack) >= 2:
                        b = stack.pop()
                        a = stack.pop()
                        stack.append(a + b if op == "add" else a - b)
                return stack
            """),
        ],
        [
            ([[]], []), ([["push 1", "push 2", "add"]], [3]), ([["push 5", "push 3", "sub"]], [2]),
            ([["pop", "push 4"]], [4]), ([["push 1", "add"]], [1]), ([["push -3", "dup", "add"]], [-6]),
            ([["push 1", "push 2", "push 3", "swap"]], [1, 3, 2]), ([["push 7", "swap", "dup"]], [7, 7]),
            ([["push 2", "push 9", "swap", "sub"]], [7]),
        ],
        [[[]], [["pop"]], [["push 0"]], [["push 2", "sub"]], [["dup", "push -1"]]]
        + sample("stack_machine", lambda r: [[
            r.choice([f"push {r.randint(-5, 9)}", f"push {r.randint(0, 9)}", "pop", "dup", "swap", "add", "sub"])
            for _ in range(r.randint(0, 7))]]),
    ),
    task(
        "parking_fee", "test",
        "def parking_fee(minutes: int) -> int:",
        """Return the parking fee in cents for a stay of minutes >= 0.

        The first 30 minutes are free. After that, every started hour costs 250 cents,
        counting from the end of the free half hour (so 31 to 90 minutes cost 250). The fee
        never exceeds 2000 cents.
        """,
        """
        def parking_fee(minutes: int) -> int:
            billable = max(0, minutes - 30)
            hours = -(-billable // 60)
            return min(hours * 250, 2000)
        """,
        [
            """
            import math


            def parking_fee(minutes: int) -> int:
                if minutes <= 30:
                    return 0
                return min(2000, 250 * math.ceil((minutes - 30) / 60))
            """,
            """
            def parking_fee(minutes: int) -> int:
                extra = minutes - 30
                if extra <= 0:
                    return 0
                hours, rest = divmod(extra, 60)
                if rest:
                    hours += 1
                fee = hours * 250
                return fee if fee < 2000 else 2000
            """,
            """
            def parking_fee(minutes: int) -> int:
                fee = 0
                t = 30
                while t < minutes and fee < 2000:
                    fee += 250
                    t += 60
                return min(fee, 2000)
            """,
        ],
        [
            ("off_by_one", """
            def parking_fee(minutes: int) -> int:
                billable = max(0, minutes - 30)
                return min(billable // 60 * 250, 2000)
            """),
            ("misreading", """
            def parking_fee(minutes: int) -> int:
                if minutes <= 30:
                    return 0
                hours = -(-minutes // 60)
                return min(hours * 250, 2000)
            """),
            ("partial", """
            def parking_fee(minutes: int) -> int:
                billable = max(0, minutes - 30)
                return -(-billable // 60) * 250
            """),
            ("edge_case", """
            def parking_fee(minutes: int) -> int:
                if minutes <= 30:
                    return 0
                hours = (minutes - 30) // 60 + 1
                return min(hours * 250, 2000)
            """),
            ("wrong_type", """
            import math


            def parking_fee(minutes: int) -> int:
                if minutes <= 30:
                    return 0
                return min(2.5 * math.ceil((minutes - 30) / 60), 20.0) * 100
            """),
        ],
        [
            ([0], 0), ([30], 0), ([31], 250), ([90], 250), ([91], 500), ([150], 500), ([600], 2000),
            ([480], 2000), ([400], 1750), ([2000], 2000),
        ],
        [[0], [1], [29], [30], [31], [89], [90], [91], [510], [511]]
        + sample("parking_fee", lambda r: [r.choice([r.randint(0, 200), r.randint(0, 1000), 30 + 60 * r.randint(0, 9)])]),
    ),
    task(
        "to_24h", "dev",
        "def to_24h(time12: str) -> str:",
        """Convert a 12-hour clock time such as '7:05 PM' to 24-hour 'HH:MM'.

        The hour has one or two digits (1..12), the minutes two, then one space and AM or PM
        in any letter case. 12 AM is 00 and 12 PM is 12. The result always has two-digit
        hours and minutes.
        """,
        """
        def to_24h(time12: str) -> str:
            clock, period = time12.split(" ")
            hour_text, minute = clock.split(":")
            hour = int(hour_text) % 12
            if period.upper() == "PM":
                hour += 12
            return f"{hour:02d}:{minute}"
        """,
        [
            """
            from datetime import datetime


            def to_24h(time12: str) -> str:
                return datetime.strptime(time12.upper(), "%I:%M %p").strftime("%H:%M")
            """,
            """
            import re


            def to_24h(time12: str) -> str:
                m = re.fullmatch(r"(\\d{1,2}):(\\d{2}) ([AaPp][Mm])", time12)
                assert m is not None
                h = int(m.group(1))
                pm = m.group(3).lower() == "pm"
                if h == 12:
                    h = 0
                if pm:
                    h += 12
                return "%02d:%s" % (h, m.group(2))
            """,
            """
            def to_24h(time12: str) -> str:
                hm, suffix = time12.split()
                h, m = (int(p) for p in hm.split(":"))
                if suffix.lower() == "am":
                    h = 0 if h == 12 else h
                else:
                    h = 12 if h == 12 else h + 12
                return f"{h:02}:{m:02}"
            """,
        ],
        [
            ("edge_case", """
            def to_24h(time12: str) -> str:
                clock, period = time12.split(" ")
                hour_text, minute = clock.split(":")
                hour = int(hour_text)
                if period.upper() == "PM" and hour != 12:
                    hour += 12
                return f"{hour:02d}:{minute}"
            """),
            ("edge_case", """
            def to_24h(time12: str) -> str:
                clock, period = time12.split(" ")
                hour_text, minute = clock.split(":")
                hour = int(hour_text)
                if period.upper() == "PM":
                    hour += 12
                elif hour == 12:
                    hour = 0
                return f"{hour:02d}:{minute}"
            """),
            ("partial", """
            def to_24h(time12: str) -> str:
                clock, period = time12.split(" ")
                hour_text, minute = clock.split(":")
                hour = int(hour_text) % 12
                if period.upper() == "PM":
                    hour += 12
                return f"{hour}:{minute}"
            """),
            ("partial", """
            def to_24h(time12: str) -> str:
                clock, period = time12.split(" ")
                hour_text, minute = clock.split(":")
                hour = int(hour_text) % 12
                if period == "PM":
                    hour += 12
                return f"{hour:02d}:{minute}"
            """),
            ("misreading", """
            def to_24h(time12: str) -> str:
                clock, period = time12.split(" ")
                hour_text, minute = clock.split(":")
                hour = int(hour_text)
                pm = period.upper() == "PM"
                if hour == 12:
                    hour = 0 if pm else 12
                elif pm:
                    hour += 12
                return f"{hour:02d}:{minute}"
            """),
        ],
        [
            (["7:05 PM"], "19:05"), (["12:00 AM"], "00:00"), (["12:30 PM"], "12:30"), (["1:00 am"], "01:00"),
            (["11:59 pm"], "23:59"), (["9:15 AM"], "09:15"), (["12:01 am"], "00:01"), (["10:00 PM"], "22:00"),
            (["6:45 Pm"], "18:45"),
        ],
        [["12:00 PM"], ["12:00 am"], ["1:01 AM"], ["11:11 Am"]]
        + sample("to_24h", lambda r: [f"{r.randint(1, 12)}:{r.randint(0, 59):02d} "
                                      + r.choice(["AM", "PM", "am", "pm", "Pm"])]),
    ),
    task(
        "clock_angle", "test",
        "def clock_angle(h: int, m: int) -> float:",
        """Return the smaller angle in degrees between the hour and minute hands at h:m.

        h is 0..23 and m is 0..59. The hour hand moves continuously (half a degree per
        minute). The result is a float between 0 and 180.
        """,
        """
        def clock_angle(h: int, m: int) -> float:
            hour = (h % 12) * 30 + m * 0.5
            minute = m * 6.0
            diff = abs(hour - minute)
            return min(diff, 360 - diff)
        """,
        [
            """
            def clock_angle(h: int, m: int) -> float:
                diff = abs(30 * (h % 12) - 5.5 * m) % 360
                return float(360 - diff if diff > 180 else diff)
            """,
            """
            def clock_angle(h: int, m: int) -> float:
                hour_hand = ((h % 12) + m / 60) * 30
                minute_hand = m / 60 * 360
                angle = abs(hour_hand - minute_hand)
                return angle if angle <= 180 else 360 - angle
            """,
            """
            def clock_angle(h: int, m: int) -> float:
                half_degrees = abs(60 * (h % 12) - 11 * m)
                half_degrees = min(half_degrees, 720 - half_degrees)
                return half_degrees / 2
            """,
        ],
        [
            ("partial", """
            def clock_angle(h: int, m: int) -> float:
                hour = (h % 12) * 30.0
                minute = m * 6.0
                diff = abs(hour - minute)
                return min(diff, 360 - diff)
            """),
            ("edge_case", """
            def clock_angle(h: int, m: int) -> float:
                hour = h * 30 + m * 0.5
                minute = m * 6.0
                diff = abs(hour - minute)
                return min(diff, 360 - diff)
            """),
            ("misreading", """
            def clock_angle(h: int, m: int) -> float:
                hour = (h % 12) * 30 + m * 0.5
                minute = m * 6.0
                return (hour - minute) % 360
            """),
            ("wrong_type", """
            def clock_angle(h: int, m: int) -> float:
                hour = (h % 12) * 30 + m // 2
                minute = m * 6
                diff = abs(hour - minute)
                return min(diff, 360 - diff)
            """),
            ("other", """
            def clock_angle(h: int, m: int) -> float:
                hour = (h % 12) * 30 + m * 0.5
                minute = m * 5.0
                diff = abs(hour - minute)
                return min(diff, 360 - diff)
            """),
        ],
        [
            ([3, 0], 90.0), ([12, 0], 0.0), ([6, 0], 180.0), ([9, 0], 90.0), ([3, 30], 75.0), ([0, 0], 0.0),
            ([23, 59], 5.5), ([15, 15], 7.5), ([1, 40], 170.0),
        ],
        [[0, 0], [12, 30], [6, 30], [18, 0], [21, 0], [11, 59]]
        + sample("clock_angle", lambda r: [r.randint(0, 23), r.choice([0, 15, 30, 45, r.randint(0, 59)])]),
    ),
    task(
        "plurality_winner", "dev",
        "def plurality_winner(ballots: list[str]) -> str | None:",
        """Return the candidate named on the most ballots.

        Each ballot names one candidate; names are case-sensitive. If two or more candidates
        tie for the most votes, or there are no ballots, return None.
        """,
        """
        from collections import Counter


        def plurality_winner(ballots: list[str]) -> str | None:
            ranked = Counter(ballots).most_common(2)
            if not ranked:
                return None
            if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
                return None
            return ranked[0][0]
        """,
        [
            """
            def plurality_winner(ballots: list[str]) -> str | None:
                tally: dict[str, int] = {}
                for name in ballots:
                    tally[name] = tally.get(name, 0) + 1
                if not tally:
                    return None
                top = max(tally.values())
                leaders = [n for n, v in tally.items() if v == top]
                return leaders[0] if len(leaders) == 1 else None
            """,
            """
            def plurality_winner(ballots: list[str]) -> str | None:
                counts = sorted(((ballots.count(c), c) for c in set(ballots)), reverse=True)
                if not counts or (len(counts) > 1 and counts[0][0] == counts[1][0]):
                    return None
                return counts[0][1]
            """,
            """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                votes = Counter(ballots)
                best = max(votes.values(), default=0)
                winners = [c for c in votes if votes[c] == best]
                if len(winners) != 1:
                    return None
                return winners[0]
            """,
        ],
        [
            ("misreading", """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                votes = Counter(ballots)
                if not votes:
                    return None
                best = max(votes.values())
                return min(c for c in votes if votes[c] == best)
            """),
            ("misreading", """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                ranked = Counter(ballots).most_common(1)
                return ranked[0][0] if ranked else None
            """),
            ("crash_on_empty", """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                ranked = Counter(ballots).most_common(2)
                if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
                    return None
                return ranked[0][0]
            """),
            ("misreading", """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                ranked = Counter(b.lower() for b in ballots).most_common(2)
                if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
                    return None
                return ranked[0][0]
            """),
            ("misreading", """
            from collections import Counter


            def plurality_winner(ballots: list[str]) -> str | None:
                ranked = Counter(ballots).most_common(1)
                if ranked and ranked[0][1] * 2 > len(ballots):
                    return ranked[0][0]
                return None
            """),
        ],
        [
            ([[]], None), ([["a"]], "a"), ([["a", "b", "a"]], "a"), ([["a", "b"]], None),
            ([["b", "a", "b", "a"]], None), ([["x", "y", "z", "x"]], "x"), ([["Al", "AL", "al", "b"]], None),
            ([["a", "b", "c"]], None), ([["c", "c", "b", "b", "a"]], None),
        ],
        [[[]], [["q"]], [["q", "Q"]], [["a", "a", "b", "c", "d"]]]
        + sample("plurality_winner", lambda r: [[r.choice(["ann", "bo", "Bo", "cy", "ann"]) for _ in range(r.randint(0, 7))]]),
    ),
    task(
        "inventory_apply", "test",
        "def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:",
        """Apply ('add', item, n) and ('remove', item, n) operations to an inventory.

        stock maps items to positive counts. 'add' increases the item's count (creating it if
        needed). 'remove' decreases it; when the count would reach 0 or go below, the item is
        deleted instead. Removing an item that is not in stock does nothing. n >= 1.
        Return a new dict; stock itself is not modified.
        """,
        """
        def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
            out = dict(stock)
            for op, item, n in ops:
                if op == "add":
                    out[item] = out.get(item, 0) + n
                elif op == "remove" and item in out:
                    if out[item] <= n:
                        del out[item]
                    else:
                        out[item] -= n
            return out
        """,
        [
            """
            from collections import Counter


            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                inv = Counter(stock)
                for op, item, n in ops:
                    if op == "add":
                        inv[item] += n
                    elif op == "remove" and item in inv:
                        inv[item] -= n
                        if inv[item] <= 0:
                            del inv[item]
                return dict(inv)
            """,
            """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                result = {**stock}
                for action, name, qty in ops:
                    current = result.get(name)
                    if action == "add":
                        result[name] = (current or 0) + qty
                    elif action == "remove" and current is not None:
                        left = current - qty
                        if left > 0:
                            result[name] = left
                        else:
                            result.pop(name)
                return result
            """,
            """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                counts = stock.copy()
                for kind, item, amount in ops:
                    if kind == "remove":
                        amount = -amount
                        if item not in counts:
                            continue
                    counts[item] = counts.get(item, 0) + amount
                    if counts[item] <= 0:
                        counts.pop(item)
                return counts
            """,
        ],
        [
            ("partial", """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                out = dict(stock)
                for op, item, n in ops:
                    if op == "add":
                        out[item] = out.get(item, 0) + n
                    elif op == "remove" and item in out:
                        out[item] -= n
                return out
            """),
            ("edge_case", """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                out = dict(stock)
                for op, item, n in ops:
                    if op == "add":
                        out[item] = out.get(item, 0) + n
                    elif op == "remove" and item in out:
                        out[item] -= n
                        if out[item] == 0:
                            del out[item]
                return out
            """),
            ("edge_case", """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                out = dict(stock)
                for op, item, n in ops:
                    if op == "add":
                        out[item] = out.get(item, 0) + n
                    elif op == "remove" and item in out:
                        out[item] = max(0, out[item] - n)
                return out
            """),
            ("crash_on_empty", """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                out = dict(stock)
                for op, item, n in ops:
                    if op == "add":
                        out[item] = out.get(item, 0) + n
                    elif op == "remove":
                        if out[item] <= n:
                            del out[item]
                        else:
                            out[item] -= n
                return out
            """),
            ("misreading", """
            def inventory_apply(stock: dict[str, int], ops: list[tuple[str, str, int]]) -> dict[str, int]:
                out = dict(stock)
                for op, item, n in ops:
                    if op == "add":
                        out[item] = out.get(item, 0) + n
                    elif op == "remove" and item in out:
                        if out[item] > n:
                            out[item] -= n
                        elif out[item] == n:
                            del out[item]
                return out
            """),
        ],
        [
            ([{}, []], {}), ([{"a": 1}, [("add", "a", 2)]], {"a": 3}), ([{}, [("add", "b", 1)]], {"b": 1}),
            ([{"a": 2}, [("remove", "a", 2)]], {}), ([{"a": 2}, [("remove", "a", 5)]], {}),
            ([{"a": 2}, [("remove", "z", 1)]], {"a": 2}), ([{"a": 5}, [("remove", "a", 2), ("add", "a", 1)]], {"a": 4}),
            ([{"x": 1}, [("remove", "x", 1), ("add", "x", 2)]], {"x": 2}),
        ],
        [[{}, []], [{"a": 1}, [("remove", "a", 1)]], [{}, [("remove", "a", 1)]], [{"a": 3}, [("remove", "a", 4)]]]
        + sample("inventory_apply", lambda r: [
            {k: r.randint(1, 4) for k in r.sample("abc", r.randint(0, 2))},
            [(r.choice(["add", "remove", "remove"]), r.choice("abcd"), r.randint(1, 4)) for _ in range(r.randint(0, 4))]]),
    ),
    task(
        "trapped_water", "dev",
        "def trapped_water(heights: list[int]) -> int:",
        """Return how many units of rain water are trapped between walls.

        heights[i] >= 0 is the height of a wall of width 1 at position i. Water above a
        position rises to the lower of the highest walls on its left and on its right.
        """,
        """
        def trapped_water(heights: list[int]) -> int:
            n = len(heights)
            left = [0] * n
            right = [0] * n
            for i in range(n):
                left[i] = max(heights[i], left[i - 1] if i else 0)
            for i in range(n - 1, -1, -1):
                right[i] = max(heights[i], right[i + 1] if i < n - 1 else 0)
            return sum(min(left[i], right[i]) - heights[i] for i in range(n))
        """,
        [
            """
            def trapped_water(heights: list[int]) -> int:
                lo, hi = 0, len(heights) - 1
                left_max = right_max = water = 0
                while lo < hi:
                    if heights[lo] < heights[hi]:
                        left_max = max(left_max, heights[lo])
                        water += left_max - heights[lo]
                        lo += 1
                    else:
                        right_max = max(right_max, heights[hi])
                        water += right_max - heights[hi]
                        hi -= 1
                return water
            """,
            """
            def trapped_water(heights: list[int]) -> int:
                total = 0
                stack: list[int] = []
                for i, h in enumerate(heights):
                    while stack and heights[stack[-1]] < h:
                        bottom = heights[stack.pop()]
                        if not stack:
                            break
                        width = i - stack[-1] - 1
                        total += (min(heights[stack[-1]], h) - bottom) * width
                    stack.append(i)
                return total
            """,
            """
            from itertools import accumulate


            def trapped_water(heights: list[int]) -> int:
                left = list(accumulate(heights, max))
                right = list(accumulate(reversed(heights), max))[::-1]
                return sum(min(a, b) - h for a, b, h in zip(left, right, heights))
            """,
        ],
        [
            ("partial", """
            def trapped_water(heights: list[int]) -> int:
                water = 0
                best = 0
                for h in heights:
                    best = max(best, h)
                    water += best - h
                return water
            """),
            ("crash_on_empty", """
            def trapped_water(heights: list[int]) -> int:
                peak = heights.index(max(heights))
                water = 0
                level = 0
                for h in heights[:peak]:
                    level = max(level, h)
                    water += level - h
                level = 0
                for h in reversed(heights[peak + 1 :]):
                    level = max(level, h)
                    water += level - h
                return water
            """),
            ("off_by_one", """
            def trapped_water(heights: list[int]) -> int:
                water = 0
                for i in range(1, len(heights) - 2):
                    level = min(max(heights[: i + 1]), max(heights[i:]))
                    water += level - heights[i]
                return water
            """),
            ("misreading", """
            def trapped_water(heights: list[int]) -> int:
                if not heights:
                    return 0
                top = max(heights)
                return sum(top - h for h in heights)
            """),
            ("edge_case", """
            def trapped_water(heights: list[int]) -> int:
                water = 0
                for i in range(1, len(heights) - 1):
                    water += min(max(heights[:i]), max(heights[i + 1 :])) - heights[i]
                return water
            """),
        ],
        [
            ([[]], 0), ([[1]], 0), ([[0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]], 6), ([[4, 2, 0, 3, 2, 5]], 9),
            ([[3, 0, 3]], 3), ([[1, 2, 3]], 0), ([[3, 2, 1]], 0), ([[2, 0, 2, 0, 1]], 3), ([[5, 0, 0, 0]], 0),
        ],
        [[[]], [[0]], [[2, 2]], [[1, 0, 1]], [[0, 0, 0]]]
        + sample("trapped_water", lambda r: [[r.randint(0, 5) for _ in range(r.randint(0, 9))]]),
    ),
    task(
        "josephus", "test",
        "def josephus(n: int, k: int) -> int:",
        """Return the survivor of the counting-out game.

        n >= 1 people stand in a circle, numbered 1..n. Counting starts at person 1, who
        counts as 1; the person who is counted k (k >= 1) leaves the circle, and counting
        restarts at 1 with the next person still in it. Return the number of the last person
        left.
        """,
        """
        def josephus(n: int, k: int) -> int:
            people = list(range(1, n + 1))
            idx = 0
            while len(people) > 1:
                idx = (idx + k - 1) % len(people)
                people.pop(idx)
            return people[0]
        """,
        [
            """
            def josephus(n: int, k: int) -> int:
                survivor = 0
                for size in range(2, n + 1):
                    survivor = (survivor + k) % size
                return survivor + 1
            """,
            """
            from collections import deque


            def josephus(n: int, k: int) -> int:
                circle = deque(range(1, n + 1))
                while len(circle) > 1:
                    circle.rotate(-(k - 1))
                    circle.popleft()
                return circle[0]
            """,
            """
            def josephus(n: int, k: int) -> int:
                alive = [True] * (n + 1)
                left = n
                pos = 0
                while left > 1:
                    count = 0
                    while count < k:
                        pos = pos % n + 1
                        if alive[pos]:
                            count += 1
                    alive[pos] = False
                    left -= 1
                return alive.index(True, 1)
            """,
        ],
        [
            ("off_by_one", """
            def josephus(n: int, k: int) -> int:
                survivor = 0
                for size in range(2, n + 1):
                    survivor = (survivor + k) % size
                return survivor
            """),
            ("misreading", """
            def josephus(n: int, k: int) -> int:
                people = list(range(1, n + 1))
                idx = 0
                while len(people) > 1:
                    idx = (idx + k) % len(people)
                    people.pop(idx)
                return people[0]
            """),
            ("partial", """
            from collections import deque


            def josephus(n: int, k: int) -> int:
                circle = deque(range(1, n + 1))
                while len(circle) > 1:
                    circle.rotate(k - 1)
                    circle.popleft()
                return circle[0]
            """),
            ("wrong_type", """
            def josephus(n: int, k: int) -> int:
                people = list(range(1, n + 1))
                idx = 0
                while len(people) > 1:
                    idx = (idx + k - 1) % len(people)
                    people.pop(idx)
                return people
            """),
            ("misreading", """
            def josephus(n: int, k: int) -> int:
                people = list(range(1, n + 1))
                idx = 0
                while len(people) > 1:
                    idx = (idx + k - 1) % len(people)
                    people.pop(idx)
                    idx = (idx + 1) % len(people)
                return people[0]
            """),
        ],
        [
            ([1, 1], 1), ([1, 5], 1), ([5, 1], 5), ([5, 2], 3), ([4, 3], 1), ([8, 2], 1), ([9, 3], 1),
            ([10, 3], 4), ([3, 5], 1), ([7, 5], 6),
        ],
        [[1, 1], [2, 1], [2, 2], [4, 4], [13, 2]]
        + sample("josephus", lambda r: [r.randint(1, 15), r.randint(1, 6)]),
    ),
]
