"""Tasks C: number theory, arithmetic and dates without time zones."""

import datetime as _dt
import random

from ._helpers import sample, task


def _date(r: random.Random) -> str:
    return (_dt.date(1899, 1, 1) + _dt.timedelta(days=r.randint(0, 200 * 365))).isoformat()


def _near(r: random.Random) -> str:
    return (_dt.date(2024, 1, 1) + _dt.timedelta(days=r.randint(-400, 400))).isoformat()


TASKS = [
    task(
        "is_prime", "dev",
        "def is_prime(n: int) -> bool:",
        """Return True if n is a prime number. n may be any integer, including 0 and negatives.""",
        """
        import math


        def is_prime(n: int) -> bool:
            if n < 2:
                return False
            for d in range(2, math.isqrt(n) + 1):
                if n % d == 0:
                    return False
            return True
        """,
        [
            """
            from math import isqrt


            def is_prime(n: int) -> bool:
                return n > 1 and all(n % d for d in range(2, isqrt(n) + 1))
            """,
            """
            def is_prime(n: int) -> bool:
                if n <= 3:
                    return n >= 2
                if n % 2 == 0 or n % 3 == 0:
                    return False
                i = 5
                while i * i <= n:
                    if n % i == 0 or n % (i + 2) == 0:
                        return False
                    i += 6
                return True
            """,
            """
            def is_prime(n: int) -> bool:
                if n < 2:
                    return False
                d = 2
                while d * d <= n:
                    if n % d == 0:
                        return False
                    d += 1
                return True
            """,
        ],
        [
            ("edge_case", """
            import math


            def is_prime(n: int) -> bool:
                if n <= 0:
                    return False
                for d in range(2, math.isqrt(n) + 1):
                    if n % d == 0:
                        return False
                return True
            """),
            ("off_by_one", """
            def is_prime(n: int) -> bool:
                if n < 2:
                    return False
                for d in range(2, int(n**0.5)):
                    if n % d == 0:
                        return False
                return True
            """),
            ("edge_case", """
            import math


            def is_prime(n: int) -> bool:
                if n in (0, 1):
                    return False
                for d in range(2, math.isqrt(n) + 1):
                    if n % d == 0:
                        return False
                return True
            """),
            ("partial", """
            def is_prime(n: int) -> bool:
                if n in (2, 3, 5, 7):
                    return True
                return n > 1 and all(n % p for p in (2, 3, 5, 7))
            """),
            ("edge_case", """
            import math


            def is_prime(n: int) -> bool:
                if n < 2 or n % 2 == 0:
                    return False
                for d in range(3, math.isqrt(n) + 1, 2):
                    if n % d == 0:
                        return False
                return True
            """),
            ("misreading", """
            def is_prime(n: int) -> bool:
                return all(n % d != 0 for d in range(2, abs(n)) if d * d <= abs(n))
            """),
        ],
        [
            ([-7], False), ([0], False), ([1], False), ([2], True), ([3], True), ([4], False),
            ([9], False), ([25], False), ([97], True), ([121], False), ([7919], True), ([49], False),
        ],
        [[-1], [0], [1], [2], [4], [169], [289], [7917]]
        + sample("is_prime", lambda r: [r.choice([r.randint(-5, 60), r.randint(2, 400),
                                                  r.choice([11, 13, 17, 19, 23]) ** 2])]),
    ),
    task(
        "gcd_list", "test",
        "def gcd_list(xs: list[int]) -> int:",
        """Return the greatest common divisor of all numbers in xs, always >= 0.

        Negative numbers count by their absolute value, gcd(0, n) is |n|, and the gcd of an
        empty list (or of only zeros) is 0.
        """,
        """
        import math
        from functools import reduce


        def gcd_list(xs: list[int]) -> int:
            return reduce(math.gcd, xs, 0)
        """,
        [
            """
            def gcd_list(xs: list[int]) -> int:
                g = 0
                for x in xs:
                    a, b = g, abs(x)
                    while b:
                        a, b = b, a % b
                    g = a
                return g
            """,
            """
            import math


            def gcd_list(xs: list[int]) -> int:
                return math.gcd(*xs)
            """,
            """
            import math


            def gcd_list(xs: list[int]) -> int:
                result = 0
                for value in xs:
                    result = math.gcd(result, value)
                    if result == 1:
                        break
                return result
            """,
        ],
        [
            ("crash_on_empty", """
            import math
            from functools import reduce


            def gcd_list(xs: list[int]) -> int:
                return reduce(math.gcd, xs)
            """),
            ("edge_case", """
            def gcd_list(xs: list[int]) -> int:
                g = 0
                for x in xs:
                    a, b = x, g
                    while b:
                        a, b = b, a % b
                    g = a
                return g
            """),
            ("edge_case", """
            def gcd_list(xs: list[int]) -> int:
                low = min(abs(x) for x in xs)
                for d in range(low, 0, -1):
                    if all(x % d == 0 for x in xs):
                        return d
                return 1
            """),
            ("misreading", """
            import math


            def gcd_list(xs: list[int]) -> int:
                if not xs:
                    return 1
                return math.gcd(*xs)
            """),
            ("off_by_one", """
            def gcd_list(xs: list[int]) -> int:
                if not xs or all(x == 0 for x in xs):
                    return 0
                low = min(abs(x) for x in xs if x != 0)
                best = 1
                for d in range(1, low):
                    if all(x % d == 0 for x in xs):
                        best = d
                return best
            """),
            ("wrong_type", """
            import math
            from functools import reduce


            def gcd_list(xs: list[int]) -> int:
                return reduce(lambda a, b: math.gcd(int(a), b), xs, 0.0)
            """),
        ],
        [
            ([[]], 0), ([[12, 18]], 6), ([[7]], 7), ([[-4]], 4), ([[0, 5]], 5), ([[0, 0]], 0),
            ([[-6, 9]], 3), ([[6, 12]], 6), ([[17, 5]], 1), ([[100, 75, 50]], 25),
        ],
        [[[]], [[0]], [[1]], [[-1]], [[-8, -12]], [[9, 0]]]
        + sample("gcd_list", lambda r: [[r.choice([2, 3, 4, 6]) * r.randint(-12, 12)
                                          for _ in range(r.randint(0, 4))]]),
    ),
    task(
        "prime_factors", "dev",
        "def prime_factors(n: int) -> list[int]:",
        """Return the prime factorisation of n >= 1 as primes in ascending order, with repeats.

        For example 12 -> [2, 2, 3] and 1 -> [].
        """,
        """
        def prime_factors(n: int) -> list[int]:
            factors: list[int] = []
            d = 2
            while d * d <= n:
                while n % d == 0:
                    factors.append(d)
                    n //= d
                d += 1
            if n > 1:
                factors.append(n)
            return factors
        """,
        [
            """
            def prime_factors(n: int) -> list[int]:
                if n == 1:
                    return []
                for p in range(2, int(n**0.5) + 1):
                    if n % p == 0:
                        return [p] + prime_factors(n // p)
                return [n]
            """,
            """
            def prime_factors(n: int) -> list[int]:
                out = []
                while n % 2 == 0:
                    out.append(2)
                    n //= 2
                f = 3
                while f * f <= n:
                    if n % f == 0:
                        out.append(f)
                        n //= f
                    else:
                        f += 2
                if n != 1:
                    out.append(n)
                return out
            """,
            """
            def prime_factors(n: int) -> list[int]:
                result: list[int] = []
                divisor = 2
                while n > 1:
                    if divisor * divisor > n:
                        result.append(n)
                        break
                    q, r = divmod(n, divisor)
                    if r == 0:
                        result.append(divisor)
                        n = q
                    else:
                        divisor += 1
                return result
            """,
        ],
        [
            ("misreading", """
            def prime_factors(n: int) -> list[int]:
                factors: list[int] = []
                d = 2
                while d * d <= n:
                    if n % d == 0:
                        factors.append(d)
                        while n % d == 0:
                            n //= d
                    d += 1
                if n > 1:
                    factors.append(n)
                return factors
            """),
            ("off_by_one", """
            def prime_factors(n: int) -> list[int]:
                factors: list[int] = []
                d = 2
                while d * d <= n:
                    while n % d == 0:
                        factors.append(d)
                        n //= d
                    d += 1
                return factors
            """),
            ("wrong_type", """
            def prime_factors(n: int) -> list[int]:
                factors: list[tuple[int, int]] = []
                d = 2
                while n > 1:
                    count = 0
                    while n % d == 0:
                        n //= d
                        count += 1
                    if count:
                        factors.append((d, count))
                    d += 1
                return factors
            """),
            ("edge_case", """
            def prime_factors(n: int) -> list[int]:
                if n == 1:
                    return [1]
                factors: list[int] = []
                d = 2
                while d * d <= n:
                    while n % d == 0:
                        factors.append(d)
                        n //= d
                    d += 1
                if n > 1:
                    factors.append(n)
                return factors
            """),
            ("partial", """
            def prime_factors(n: int) -> list[int]:
                factors = []
                for d in range(2, n + 1):
                    if n % d == 0:
                        factors.append(d)
                        n //= d
                return factors
            """),
        ],
        [
            ([1], []), ([2], [2]), ([12], [2, 2, 3]), ([13], [13]), ([14], [2, 7]), ([8], [2, 2, 2]),
            ([360], [2, 2, 2, 3, 3, 5]), ([8633], [89, 97]), ([1024], [2] * 10), ([2310], [2, 3, 5, 7, 11]),
        ],
        [[1], [2], [4], [9], [97], [1000]]
        + sample("prime_factors", lambda r: [r.choice([r.randint(1, 100), r.randint(100, 5000)])]),
    ),
    task(
        "collatz_steps", "test",
        "def collatz_steps(n: int) -> int:",
        """Return how many steps the Collatz process takes to reach 1 from n >= 1.

        One step turns an even n into n // 2 and an odd n into 3 * n + 1.
        collatz_steps(1) is 0.
        """,
        """
        def collatz_steps(n: int) -> int:
            steps = 0
            while n != 1:
                n = n // 2 if n % 2 == 0 else 3 * n + 1
                steps += 1
            return steps
        """,
        [
            """
            from functools import lru_cache


            @lru_cache(maxsize=None)
            def collatz_steps(n: int) -> int:
                if n == 1:
                    return 0
                return 1 + collatz_steps(n // 2 if n % 2 == 0 else 3 * n + 1)
            """,
            """
            def collatz_steps(n: int) -> int:
                count = 0
                while n > 1:
                    if n & 1:
                        n = 3 * n + 1
                    else:
                        n >>= 1
                    count += 1
                return count
            """,
            """
            def collatz_steps(n: int) -> int:
                seq = [n]
                while seq[-1] != 1:
                    x = seq[-1]
                    seq.append(x // 2 if x % 2 == 0 else 3 * x + 1)
                return len(seq) - 1
            """,
        ],
        [
            ("off_by_one", """
            def collatz_steps(n: int) -> int:
                terms = 1
                while n != 1:
                    n = n // 2 if n % 2 == 0 else 3 * n + 1
                    terms += 1
                return terms
            """),
            ("misreading", """
            def collatz_steps(n: int) -> int:
                steps = 0
                while n != 1:
                    n = n // 2 if n % 2 == 0 else (3 * n + 1) // 2
                    steps += 1
                return steps
            """),
            ("edge_case", """
            def collatz_steps(n: int) -> int:
                steps = 0
                while True:
                    n = n // 2 if n % 2 == 0 else 3 * n + 1
                    steps += 1
                    if n == 1:
                        return steps
            """),
            ("other", """
            def collatz_steps(n: int) -> int:
                steps = 0
                while n != 1:
                    n = 3 * n + 1 if n % 2 == 0 else n // 2
                    steps += 1
                return steps
            """),
            ("partial", """
            def collatz_steps(n: int) -> int:
                for steps in range(100):
                    if n == 1:
                        return steps
                    n = n // 2 if n % 2 == 0 else 3 * n + 1
                return 100
            """),
        ],
        [
            ([1], 0), ([2], 1), ([3], 7), ([6], 8), ([7], 16), ([27], 111), ([16], 4), ([97], 118), ([5], 5),
        ],
        [[1], [2], [4], [8], [9], [31]]
        + sample("collatz_steps", lambda r: [r.choice([r.randint(1, 40), r.randint(1, 1000),
                                                       2 ** r.randint(0, 12)])]),
    ),
    task(
        "to_base", "dev",
        "def to_base(n: int, base: int) -> str:",
        """Write the integer n in the given base (2 <= base <= 36).

        Digits are 0-9 then lower-case a-z. Negative numbers get a leading '-'. 0 is '0'.
        """,
        """
        DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


        def to_base(n: int, base: int) -> str:
            if n == 0:
                return "0"
            sign = "-" if n < 0 else ""
            n = abs(n)
            out = []
            while n:
                n, r = divmod(n, base)
                out.append(DIGITS[r])
            return sign + "".join(reversed(out))
        """,
        [
            """
            import string


            def to_base(n: int, base: int) -> str:
                digits = string.digits + string.ascii_lowercase
                if n < 0:
                    return "-" + to_base(-n, base)
                if n < base:
                    return digits[n]
                return to_base(n // base, base) + digits[n % base]
            """,
            """
            def to_base(n: int, base: int) -> str:
                alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
                negative = n < 0
                n = -n if negative else n
                s = ""
                while True:
                    s = alphabet[n % base] + s
                    n //= base
                    if n == 0:
                        break
                return ("-" if negative else "") + s
            """,
            """
            def to_base(n: int, base: int) -> str:
                chars: list[str] = []
                m = abs(n)
                while m >= base:
                    chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[m % base])
                    m //= base
                chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[m])
                if n < 0:
                    chars.append("-")
                return "".join(chars[::-1])
            """,
        ],
        [
            ("misreading", """
            DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


            def to_base(n: int, base: int) -> str:
                if n == 0:
                    return "0"
                sign = "-" if n < 0 else ""
                n = abs(n)
                out = []
                while n:
                    n, r = divmod(n, base)
                    out.append(DIGITS[r])
                return sign + "".join(reversed(out))
            """),
            ("edge_case", """
            DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


            def to_base(n: int, base: int) -> str:
                sign = "-" if n < 0 else ""
                n = abs(n)
                out = []
                while n:
                    n, r = divmod(n, base)
                    out.append(DIGITS[r])
                return sign + "".join(reversed(out))
            """),
            ("edge_case", """
            DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


            def to_base(n: int, base: int) -> str:
                if n == 0:
                    return "0"
                out = []
                while n != 0:
                    n, r = divmod(n, base)
                    out.append(DIGITS[r])
                return "".join(reversed(out))
            """),
            ("other", """
            DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


            def to_base(n: int, base: int) -> str:
                if n == 0:
                    return "0"
                sign = "-" if n < 0 else ""
                n = abs(n)
                out = []
                while n:
                    n, r = divmod(n, base)
                    out.append(DIGITS[r])
                return sign + "".join(out)
            """),
            ("misreading", """
            def to_base(n: int, base: int) -> str:
                if n == 0:
                    return "0"
                sign = "-" if n < 0 else ""
                n = abs(n)
                out = []
                while n:
                    n, r = divmod(n, base)
                    out.append(str(r))
                return sign + "".join(reversed(out))
            """),
        ],
        [
            ([0, 2], "0"), ([5, 2], "101"), ([255, 16], "ff"), ([-255, 16], "-ff"), ([35, 36], "z"),
            ([36, 36], "10"), ([10, 10], "10"), ([-1, 2], "-1"), ([100, 7], "202"), ([12, 3], "110"),
        ],
        [[0, 10], [0, 36], [1, 2], [-10, 10], [4095, 16], [35, 36]]
        + sample("to_base", lambda r: [r.randint(-5000, 5000), r.choice([2, 3, 8, 10, 16, 36, r.randint(2, 36)])]),
    ),
    task(
        "luhn_valid", "test",
        "def luhn_valid(s: str) -> bool:",
        """Check a number with the Luhn checksum.

        s may contain digits and spaces; spaces are ignored. Any other character makes it
        invalid, and so does having fewer than two digits. Starting from the rightmost digit,
        double every second digit (the second from the right, the fourth, ...), subtracting 9
        from any doubled value above 9. It is valid if the sum of all digits so obtained is a
        multiple of 10.
        """,
        """
        def luhn_valid(s: str) -> bool:
            digits = s.replace(" ", "")
            if len(digits) < 2 or any(c not in "0123456789" for c in digits):
                return False
            total = 0
            for i, ch in enumerate(reversed(digits)):
                d = int(ch)
                if i % 2 == 1:
                    d *= 2
                    if d > 9:
                        d -= 9
                total += d
            return total % 10 == 0
        """,
        [
            """
            def luhn_valid(s: str) -> bool:
                cleaned = "".join(s.split(" "))
                if len(cleaned) <= 1 or not (cleaned.isascii() and cleaned.isdigit()):
                    return False
                nums = [int(c) for c in cleaned][::-1]
                odd = sum(nums[0::2])
                even = sum(sum(divmod(2 * d, 10)) for d in nums[1::2])
                return (odd + even) % 10 == 0
            """,
            """
            def luhn_valid(s: str) -> bool:
                total = 0
                count = 0
                for ch in reversed(s):
                    if ch == " ":
                        continue
                    if ch not in "0123456789":
                        return False
                    value = int(ch) * (2 if count % 2 else 1)
                    total += value - 9 if value > 9 else value
                    count += 1
                return count > 1 and total % 10 == 0
            """,
            """
            import re


            def luhn_valid(s: str) -> bool:
                if not re.fullmatch(r"[0-9 ]*", s):
                    return False
                digits = [int(c) for c in s if c != " "]
                if len(digits) < 2:
                    return False
                checksum = 0
                double = False
                while digits:
                    d = digits.pop()
                    if double:
                        d = d * 2 - 9 if d > 4 else d * 2
                    checksum += d
                    double = not double
                return checksum % 10 == 0
            """,
        ],
        [
            ("misreading", """
            def luhn_valid(s: str) -> bool:
                digits = s.replace(" ", "")
                if len(digits) < 2 or not digits.isdigit():
                    return False
                total = 0
                for i, ch in enumerate(digits):
                    d = int(ch)
                    if i % 2 == 0:
                        d *= 2
                        if d > 9:
                            d -= 9
                    total += d
                return total % 10 == 0
            """),
            ("partial", """
            def luhn_valid(s: str) -> bool:
                digits = s.replace(" ", "")
                if len(digits) < 2 or not digits.isdigit():
                    return False
                total = 0
                for i, ch in enumerate(reversed(digits)):
                    d = int(ch)
                    total += d * 2 if i % 2 == 1 else d
                return total % 10 == 0
            """),
            ("edge_case", """
            def luhn_valid(s: str) -> bool:
                digits = s.replace(" ", "")
                if not digits.isdigit():
                    return False
                total = 0
                for i, ch in enumerate(reversed(digits)):
                    d = int(ch)
                    if i % 2 == 1:
                        d = d * 2 - 9 if d * 2 > 9 else d * 2
                    total += d
                return total % 10 == 0
            """),
            ("edge_case", """
            def luhn_valid(s: str) -> bool:
                digits = [c for c in s if c.isdigit()]
                if len(digits) < 2:
                    return False
                total = 0
                for i, ch in enumerate(reversed(digits)):
                    d = int(ch)
                    if i % 2 == 1:
                        d = d * 2 - 9 if d * 2 > 9 else d * 2
                    total += d
                return total % 10 == 0
            """),
            ("off_by_one", """
            def luhn_valid(s: str) -> bool:
                digits = s.replace(" ", "")
                if len(digits) < 2 or not digits.isdigit():
                    return False
                total = 0
                for i, ch in enumerate(reversed(digits)):
                    d = int(ch)
                    if i % 2 == 0:
                        d = d * 2 - 9 if d * 2 > 9 else d * 2
                    total += d
                return total % 10 == 0
            """),
        ],
        [
            (["4539 3195 0343 6467"], True), (["8273 1232 7352 0569"], False), (["0"], False),
            ([" 0 0 "], True), (["059"], True), (["59"], True), (["4539-3195-0343-6467"], False),
            (["12a4"], False), (["79927398713"], True), ([""], False),
        ],
        [[""], [" "], ["00"], ["18"], ["1 8"], ["091"], ["0x1"], ["5"]]
        + sample("luhn_valid", lambda r: ["".join(r.choice("0123456789 ") for _ in range(r.randint(0, 12)))
                                          + r.choice(["", "", "", "-", "7"])]),
    ),
    task(
        "fib_upto", "dev",
        "def fib_upto(limit: int) -> list[int]:",
        """Return all Fibonacci numbers <= limit, in order: 0, 1, 1, 2, 3, 5, ...

        1 appears twice. A negative limit gives [].
        """,
        """
        def fib_upto(limit: int) -> list[int]:
            out: list[int] = []
            a, b = 0, 1
            while a <= limit:
                out.append(a)
                a, b = b, a + b
            return out
        """,
        [
            """
            from collections.abc import Iterator


            def _fib() -> Iterator[int]:
                a, b = 0, 1
                while True:
                    yield a
                    a, b = b, a + b


            def fib_upto(limit: int) -> list[int]:
                result = []
                for f in _fib():
                    if f > limit:
                        return result
                    result.append(f)
                return result
            """,
            """
            def fib_upto(limit: int) -> list[int]:
                if limit < 0:
                    return []
                seq = [0]
                nxt = 1
                while nxt <= limit:
                    seq.append(nxt)
                    nxt = seq[-1] + (seq[-2] if len(seq) > 1 else 0)
                return seq
            """,
            """
            from itertools import takewhile


            def fib_upto(limit: int) -> list[int]:
                fibs = [0, 1]
                while fibs[-1] + fibs[-2] <= limit:
                    fibs.append(fibs[-1] + fibs[-2])
                return list(takewhile(lambda f: f <= limit, fibs + [fibs[-1] + fibs[-2]]))
            """,
        ],
        [
            ("off_by_one", """
            def fib_upto(limit: int) -> list[int]:
                out: list[int] = []
                a, b = 0, 1
                while a < limit:
                    out.append(a)
                    a, b = b, a + b
                return out
            """),
            ("misreading", """
            def fib_upto(limit: int) -> list[int]:
                out: list[int] = []
                a, b = 0, 1
                while a <= limit:
                    if a not in out:
                        out.append(a)
                    a, b = b, a + b
                return out
            """),
            ("edge_case", """
            def fib_upto(limit: int) -> list[int]:
                out = [0, 1]
                while out[-1] + out[-2] <= limit:
                    out.append(out[-1] + out[-2])
                return out
            """),
            ("misreading", """
            def fib_upto(limit: int) -> list[int]:
                out: list[int] = []
                a, b = 1, 1
                while a <= limit:
                    out.append(a)
                    a, b = b, a + b
                return out
            """),
            ("misreading", """
            def fib_upto(limit: int) -> list[int]:
                out: list[int] = []
                a, b = 0, 1
                for _ in range(max(limit, 0)):
                    out.append(a)
                    a, b = b, a + b
                return out
            """),
        ],
        [
            ([-1], []), ([0], [0]), ([1], [0, 1, 1]), ([2], [0, 1, 1, 2]), ([10], [0, 1, 1, 2, 3, 5, 8]),
            ([13], [0, 1, 1, 2, 3, 5, 8, 13]), ([100], [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]),
            ([4], [0, 1, 1, 2, 3]),
        ],
        [[-5], [0], [1], [3], [21], [22]]
        + sample("fib_upto", lambda r: [r.choice([r.randint(-3, 30), r.randint(0, 2000)])]),
    ),
    task(
        "divisors", "test",
        "def divisors(n: int) -> list[int]:",
        """Return all positive divisors of n >= 1 in ascending order, including 1 and n.""",
        """
        def divisors(n: int) -> list[int]:
            small: list[int] = []
            large: list[int] = []
            d = 1
            while d * d <= n:
                if n % d == 0:
                    small.append(d)
                    if d != n // d:
                        large.append(n // d)
                d += 1
            return small + large[::-1]
        """,
        [
            """
            def divisors(n: int) -> list[int]:
                return [d for d in range(1, n + 1) if n % d == 0]
            """,
            """
            import math


            def divisors(n: int) -> list[int]:
                found: set[int] = set()
                for d in range(1, math.isqrt(n) + 1):
                    if n % d == 0:
                        found.update((d, n // d))
                return sorted(found)
            """,
            """
            def divisors(n: int) -> list[int]:
                result = []
                i = 1
                while i * i < n:
                    if n % i == 0:
                        result.append(i)
                    i += 1
                if i * i == n:
                    result.append(i)
                return result + [n // d for d in reversed(result) if d * d != n]
            """,
        ],
        [
            ("edge_case", """
            import math


            def divisors(n: int) -> list[int]:
                small, large = [], []
                for d in range(1, math.isqrt(n) + 1):
                    if n % d == 0:
                        small.append(d)
                        large.append(n // d)
                return small + large[::-1]
            """),
            ("misreading", """
            def divisors(n: int) -> list[int]:
                return [d for d in range(1, n) if n % d == 0]
            """),
            ("off_by_one", """
            import math


            def divisors(n: int) -> list[int]:
                found = set()
                for d in range(1, math.isqrt(n)):
                    if n % d == 0:
                        found.update((d, n // d))
                return sorted(found)
            """),
            ("partial", """
            import math


            def divisors(n: int) -> list[int]:
                out = []
                for d in range(1, math.isqrt(n) + 1):
                    if n % d == 0:
                        out.append(d)
                        if d != n // d:
                            out.append(n // d)
                return out
            """),
            ("off_by_one", """
            def divisors(n: int) -> list[int]:
                return [d for d in range(1, n // 2) if n % d == 0] + [n]
            """),
        ],
        [
            ([1], [1]), ([6], [1, 2, 3, 6]), ([9], [1, 3, 9]), ([13], [1, 13]),
            ([45], [1, 3, 5, 9, 15, 45]), ([225], [1, 3, 5, 9, 15, 25, 45, 75, 225]), ([2], [1, 2]),
            ([97], [1, 97]), ([10], [1, 2, 5, 10]),
        ],
        [[1], [2], [4], [9], [12], [49], [60]]
        + sample("divisors", lambda r: [r.choice([r.randint(1, 50), r.randint(1, 2000), r.randint(1, 40) ** 2])]),
    ),
    task(
        "day_of_year", "dev",
        "def day_of_year(date: str) -> int:",
        """Return the day of the year (1..366) of a date written 'YYYY-MM-DD'.

        Use the proleptic Gregorian calendar: leap years are divisible by 4, except century
        years, which are leap years only when divisible by 400.
        """,
        """
        import datetime


        def day_of_year(date: str) -> int:
            return datetime.date.fromisoformat(date).timetuple().tm_yday
        """,
        [
            """
            def day_of_year(date: str) -> int:
                year, month, day = (int(p) for p in date.split("-"))
                leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
                lengths = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return sum(lengths[: month - 1]) + day
            """,
            """
            from datetime import date as Date


            def day_of_year(date: str) -> int:
                d = Date.fromisoformat(date)
                return (d - Date(d.year, 1, 1)).days + 1
            """,
            """
            import calendar


            def day_of_year(date: str) -> int:
                y, m, d = map(int, date.split("-"))
                return d + sum(calendar.monthrange(y, month)[1] for month in range(1, m))
            """,
        ],
        [
            ("edge_case", """
            def day_of_year(date: str) -> int:
                year, month, day = (int(p) for p in date.split("-"))
                lengths = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return sum(lengths[: month - 1]) + day
            """),
            ("off_by_one", """
            from datetime import date as Date


            def day_of_year(date: str) -> int:
                d = Date.fromisoformat(date)
                return (d - Date(d.year, 1, 1)).days
            """),
            ("partial", """
            def day_of_year(date: str) -> int:
                year, month, day = (int(p) for p in date.split("-"))
                lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return sum(lengths[: month - 1]) + day
            """),
            ("edge_case", """
            def day_of_year(date: str) -> int:
                year, month, day = (int(p) for p in date.split("-"))
                leap = year % 4 == 0 and year % 100 != 0
                lengths = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return sum(lengths[: month - 1]) + day
            """),
            ("other", """
            import calendar


            def day_of_year(date: str) -> int:
                year, month, day = (int(p) for p in date.split("-"))
                lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return sum(lengths[: month - 1]) + day + (1 if calendar.isleap(year) else 0)
            """),
        ],
        [
            (["2023-01-01"], 1), (["2023-12-31"], 365), (["2024-12-31"], 366), (["2024-03-01"], 61),
            (["1900-03-01"], 60), (["2000-03-01"], 61), (["2023-03-01"], 60), (["2024-02-29"], 60),
            (["2024-01-15"], 15),
        ],
        [["2024-01-01"], ["2100-12-31"], ["2000-12-31"], ["1904-02-29"]]
        + sample("day_of_year", lambda r: [_date(r)]),
    ),
    task(
        "days_between", "test",
        "def days_between(a: str, b: str) -> int:",
        """Return the number of days from date a to date b, both written 'YYYY-MM-DD'.

        The result is negative when b is before a, and 0 for the same date.
        """,
        """
        from datetime import date


        def days_between(a: str, b: str) -> int:
            return (date.fromisoformat(b) - date.fromisoformat(a)).days
        """,
        [
            """
            from datetime import date


            def days_between(a: str, b: str) -> int:
                return date.fromisoformat(b).toordinal() - date.fromisoformat(a).toordinal()
            """,
            """
            def _days(s: str) -> int:
                y, m, d = (int(x) for x in s.split("-"))
                if m <= 2:
                    y -= 1
                    m += 12
                return 365 * y + y // 4 - y // 100 + y // 400 + (153 * (m - 3) + 2) // 5 + d


            def days_between(a: str, b: str) -> int:
                return _days(b) - _days(a)
            """,
            """
            from datetime import datetime


            def days_between(a: str, b: str) -> int:
                fmt = "%Y-%m-%d"
                delta = datetime.strptime(b, fmt) - datetime.strptime(a, fmt)
                return delta.days
            """,
        ],
        [
            ("misreading", """
            from datetime import date


            def days_between(a: str, b: str) -> int:
                return abs((date.fromisoformat(b) - date.fromisoformat(a)).days)
            """),
            ("misreading", """
            from datetime import date


            def days_between(a: str, b: str) -> int:
                return (date.fromisoformat(b) - date.fromisoformat(a)).days + 1
            """),
            ("partial", """
            CUMULATIVE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


            def _serial(s: str) -> int:
                y, m, d = (int(x) for x in s.split("-"))
                return y * 365 + CUMULATIVE[m - 1] + d


            def days_between(a: str, b: str) -> int:
                return _serial(b) - _serial(a)
            """),
            ("edge_case", """
            CUMULATIVE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


            def _serial(s: str) -> int:
                y, m, d = (int(x) for x in s.split("-"))
                leap_days = (y - 1) // 4 + (1 if y % 4 == 0 and m > 2 else 0)
                return y * 365 + leap_days + CUMULATIVE[m - 1] + d


            def days_between(a: str, b: str) -> int:
                return _serial(b) - _serial(a)
            """),
            ("other", """
            from datetime import date


            def days_between(a: str, b: str) -> int:
                return (date.fromisoformat(a) - date.fromisoformat(b)).days
            """),
            ("wrong_type", """
            from datetime import date


            def days_between(a: str, b: str) -> int:
                return date.fromisoformat(b) - date.fromisoformat(a)
            """),
        ],
        [
            (["2024-01-01", "2024-01-02"], 1), (["2024-01-02", "2024-01-01"], -1),
            (["2023-01-01", "2024-01-01"], 365), (["2024-01-01", "2025-01-01"], 366),
            (["2024-02-28", "2024-03-01"], 2), (["2023-05-05", "2023-05-05"], 0),
            (["1900-02-28", "1900-03-01"], 1), (["2000-02-28", "2000-03-01"], 2),
            (["1999-12-31", "2000-01-01"], 1),
        ],
        [["2024-01-01", "2024-01-01"], ["2024-03-01", "2024-02-28"], ["1900-01-01", "2000-01-01"]]
        + sample("days_between", lambda r: [_near(r), _near(r)])
        + sample("days_between2", lambda r: [_date(r), _date(r)], 6),
    ),
    task(
        "add_business_days", "dev",
        "def add_business_days(start: str, n: int) -> str:",
        """Return the date n >= 0 business days after start, both written 'YYYY-MM-DD'.

        Business days are Monday to Friday (no holidays). Each step moves to the next
        business day. Adding 0 returns start unchanged, even when start is a weekend day.
        """,
        """
        from datetime import date, timedelta


        def add_business_days(start: str, n: int) -> str:
            d = date.fromisoformat(start)
            while n > 0:
                d += timedelta(days=1)
                if d.weekday() < 5:
                    n -= 1
            return d.isoformat()
        """,
        [
            """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                current = date.fromisoformat(start)
                remaining = n
                while remaining:
                    current = current + timedelta(days=1)
                    if current.isoweekday() <= 5:
                        remaining -= 1
                return str(current)
            """,
            """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                while n >= 5 and d.weekday() < 5:
                    d += timedelta(weeks=1)
                    n -= 5
                for _ in range(n):
                    d += timedelta(days=1)
                    while d.weekday() >= 5:
                        d += timedelta(days=1)
                return d.isoformat()
            """,
            """
            import datetime


            def add_business_days(start: str, n: int) -> str:
                day = datetime.datetime.strptime(start, "%Y-%m-%d").date()
                added = 0
                while added < n:
                    day += datetime.timedelta(days=1)
                    if day.weekday() not in (5, 6):
                        added += 1
                return day.strftime("%Y-%m-%d")
            """,
        ],
        [
            ("edge_case", """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                d += timedelta(weeks=n // 5)
                n %= 5
                while n > 0:
                    d += timedelta(days=1)
                    if d.weekday() < 5:
                        n -= 1
                return d.isoformat()
            """),
            ("off_by_one", """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                while n > 0:
                    if d.weekday() < 5:
                        n -= 1
                    d += timedelta(days=1)
                return d.isoformat()
            """),
            ("misreading", """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                while d.weekday() >= 5:
                    d += timedelta(days=1)
                while n > 0:
                    d += timedelta(days=1)
                    if d.weekday() < 5:
                        n -= 1
                return d.isoformat()
            """),
            ("partial", """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                while n > 0:
                    d += timedelta(days=1)
                    if d.weekday() < 6:
                        n -= 1
                return d.isoformat()
            """),
            ("off_by_one", """
            from datetime import date, timedelta


            def add_business_days(start: str, n: int) -> str:
                d = date.fromisoformat(start)
                while n > 0:
                    d += timedelta(days=1)
                    if d.isoweekday() < 5:
                        n -= 1
                return d.isoformat()
            """),
        ],
        [
            (["2024-06-03", 0], "2024-06-03"), (["2024-06-03", 1], "2024-06-04"),
            (["2024-06-07", 1], "2024-06-10"), (["2024-06-08", 0], "2024-06-08"),
            (["2024-06-08", 1], "2024-06-10"), (["2024-06-08", 5], "2024-06-14"),
            (["2024-06-03", 5], "2024-06-10"), (["2024-06-05", 10], "2024-06-19"),
            (["2024-12-31", 3], "2025-01-03"), (["2024-06-09", 6], "2024-06-17"),
        ],
        [["2024-06-01", 0], ["2024-06-02", 1], ["2024-06-07", 5], ["2024-06-06", 2]]
        + sample("add_business_days", lambda r: [_near(r), r.choice([0, 1, 2, 3, 4, 5, 6, 9, 10, 15, r.randint(0, 40)])]),
    ),
    task(
        "next_weekday", "test",
        "def next_weekday(start: str, weekday: int) -> str:",
        """Return the first date strictly after start that falls on weekday.

        Dates are written 'YYYY-MM-DD'; weekday is 0 for Monday up to 6 for Sunday. If start
        itself is that weekday, the answer is one week later.
        """,
        """
        from datetime import date, timedelta


        def next_weekday(start: str, weekday: int) -> str:
            d = date.fromisoformat(start)
            ahead = (weekday - d.weekday() - 1) % 7 + 1
            return (d + timedelta(days=ahead)).isoformat()
        """,
        [
            """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start) + timedelta(days=1)
                while d.weekday() != weekday:
                    d += timedelta(days=1)
                return d.isoformat()
            """,
            """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                days = (weekday - d.weekday()) % 7 or 7
                return str(d + timedelta(days))
            """,
            """
            from datetime import datetime, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                current = datetime.strptime(start, "%Y-%m-%d")
                for offset in range(1, 8):
                    candidate = current + timedelta(days=offset)
                    if candidate.weekday() == weekday:
                        return candidate.strftime("%Y-%m-%d")
                raise AssertionError("unreachable")
            """,
        ],
        [
            ("misreading", """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                return (d + timedelta(days=(weekday - d.weekday()) % 7)).isoformat()
            """),
            ("misreading", """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                current = d.isoweekday() % 7
                ahead = (weekday - current - 1) % 7 + 1
                return (d + timedelta(days=ahead)).isoformat()
            """),
            ("off_by_one", """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                ahead = (weekday - d.isoweekday() - 1) % 7 + 1
                return (d + timedelta(days=ahead)).isoformat()
            """),
            ("wrong_type", """
            from datetime import date, timedelta


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                ahead = (weekday - d.weekday() - 1) % 7 + 1
                return d + timedelta(days=ahead)
            """),
            ("edge_case", """
            from datetime import date


            def next_weekday(start: str, weekday: int) -> str:
                d = date.fromisoformat(start)
                ahead = (weekday - d.weekday() - 1) % 7 + 1
                return d.replace(day=d.day + ahead).isoformat()
            """),
        ],
        [
            (["2024-06-03", 0], "2024-06-10"), (["2024-06-03", 1], "2024-06-04"),
            (["2024-06-03", 6], "2024-06-09"), (["2024-06-08", 0], "2024-06-10"),
            (["2024-06-29", 2], "2024-07-03"), (["2024-12-31", 4], "2025-01-03"),
            (["2024-02-28", 3], "2024-02-29"), (["2024-06-09", 6], "2024-06-16"),
        ],
        [["2024-06-03", 2], ["2024-06-30", 0], ["2023-02-28", 2], ["2024-01-01", 0]]
        + sample("next_weekday", lambda r: [_near(r), r.randint(0, 6)]),
    ),
    task(
        "median", "dev",
        "def median(xs: list[int]) -> float | None:",
        """Return the median of xs as a float, or None for an empty list.

        With an even number of values the median is the mean of the two middle values.
        xs itself is not modified.
        """,
        """
        def median(xs: list[int]) -> float | None:
            if not xs:
                return None
            s = sorted(xs)
            mid = len(s) // 2
            if len(s) % 2:
                return float(s[mid])
            return (s[mid - 1] + s[mid]) / 2
        """,
        [
            """
            import statistics


            def median(xs: list[int]) -> float | None:
                return float(statistics.median(xs)) if xs else None
            """,
            """
            def median(xs: list[int]) -> float | None:
                n = len(xs)
                if n == 0:
                    return None
                ordered = sorted(xs)
                half, odd = divmod(n, 2)
                return ordered[half] * 1.0 if odd else (ordered[half - 1] + ordered[half]) / 2.0
            """,
            """
            def median(xs: list[int]) -> float | None:
                values = sorted(xs)
                if not values:
                    return None
                lo = values[(len(values) - 1) // 2]
                hi = values[len(values) // 2]
                return (lo + hi) / 2
            """,
        ],
        [
            ("partial", """
            def median(xs: list[int]) -> float | None:
                if not xs:
                    return None
                mid = len(xs) // 2
                if len(xs) % 2:
                    return float(xs[mid])
                return (xs[mid - 1] + xs[mid]) / 2
            """),
            ("off_by_one", """
            def median(xs: list[int]) -> float | None:
                if not xs:
                    return None
                return float(sorted(xs)[len(xs) // 2])
            """),
            ("crash_on_empty", """
            def median(xs: list[int]) -> float | None:
                s = sorted(xs)
                mid = len(s) // 2
                if len(s) % 2 == 0:
                    return (s[mid - 1] + s[mid]) / 2
                return float(s[mid])
            """),
            ("wrong_type", """
            import statistics


            def median(xs: list[int]) -> float | None:
                return statistics.median(xs) if xs else None
            """),
            ("misreading", """
            def median(xs: list[int]) -> float | None:
                if not xs:
                    return None
                return float(sorted(xs)[(len(xs) - 1) // 2])
            """),
            ("edge_case", """
            def median(xs: list[int]) -> float | None:
                if not xs:
                    return None
                s = sorted(xs)
                mid = len(s) // 2
                if len(s) % 2:
                    return float(s[mid])
                return (s[mid - 1] + s[mid]) // 2
            """),
        ],
        [
            ([[]], None), ([[3]], 3.0), ([[3, 1, 2]], 2.0), ([[4, 1, 3, 2]], 2.5), ([[1, 2]], 1.5),
            ([[5, 5, 5, 5]], 5.0), ([[-1, -3]], -2.0), ([[10, 2, 38, 23, 38, 23, 21]], 23.0), ([[1, 4]], 2.5),
        ],
        [[[]], [[0]], [[2, 2]], [[1, 3]], [[9, 1, 5]]]
        + sample("median", lambda r: [[r.randint(-10, 30) for _ in range(r.randint(0, 8))]]),
    ),
    task(
        "moving_average", "test",
        "def moving_average(xs: list[int], k: int) -> list[float]:",
        """Return the mean of every window of k consecutive values of xs, in order, as floats.

        k >= 1. Windows overlap (they start at every index) and only full windows count:
        if k > len(xs) the result is [].
        """,
        """
        def moving_average(xs: list[int], k: int) -> list[float]:
            return [sum(xs[i : i + k]) / k for i in range(len(xs) - k + 1)]
        """,
        [
            """
            def moving_average(xs: list[int], k: int) -> list[float]:
                if k > len(xs):
                    return []
                window = sum(xs[:k])
                out = [window / k]
                for i in range(k, len(xs)):
                    window += xs[i] - xs[i - k]
                    out.append(window / k)
                return out
            """,
            """
            from statistics import fmean


            def moving_average(xs: list[int], k: int) -> list[float]:
                result = []
                for start in range(0, len(xs) - k + 1):
                    result.append(fmean(xs[start : start + k]))
                return result
            """,
            """
            from itertools import accumulate


            def moving_average(xs: list[int], k: int) -> list[float]:
                prefix = [0, *accumulate(xs)]
                return [(prefix[i + k] - prefix[i]) / k for i in range(len(xs) - k + 1)]
            """,
        ],
        [
            ("misreading", """
            def moving_average(xs: list[int], k: int) -> list[float]:
                out = []
                for i in range(len(xs)):
                    window = xs[max(0, i - k + 1) : i + 1]
                    out.append(sum(window) / len(window))
                return out
            """),
            ("off_by_one", """
            def moving_average(xs: list[int], k: int) -> list[float]:
                return [sum(xs[i : i + k]) / k for i in range(len(xs) - k)]
            """),
            ("wrong_type", """
            def moving_average(xs: list[int], k: int) -> list[float]:
                return [sum(xs[i : i + k]) // k for i in range(len(xs) - k + 1)]
            """),
            ("edge_case", """
            def moving_average(xs: list[int], k: int) -> list[float]:
                if k > len(xs):
                    return [sum(xs) / len(xs)]
                return [sum(xs[i : i + k]) / k for i in range(len(xs) - k + 1)]
            """),
            ("misreading", """
            def moving_average(xs: list[int], k: int) -> list[float]:
                return [sum(xs[i : i + k]) / k for i in range(0, len(xs) - k + 1, k)]
            """),
        ],
        [
            ([[1, 2, 3, 4, 5], 2], [1.5, 2.5, 3.5, 4.5]), ([[1, 2, 3], 3], [2.0]), ([[1, 2], 3], []),
            ([[], 1], []), ([[4], 1], [4.0]), ([[1, 3, 5, 7], 2], [2.0, 4.0, 6.0]),
            ([[2, 4, 6, 8, 10, 12], 3], [4.0, 6.0, 8.0, 10.0]), ([[-1, 1], 1], [-1.0, 1.0]),
            ([[0, 0, 3], 2], [0.0, 1.5]),
        ],
        [[[], 2], [[5], 1], [[5], 2], [[1, 2, 3, 4], 4], [[3, 3], 1]]
        + sample("moving_average", lambda r: [[r.randint(-5, 20) for _ in range(r.randint(0, 8))],
                                              r.randint(1, 4)]),
    ),
    task(
        "round_to_multiple", "dev",
        "def round_to_multiple(n: int, m: int) -> int:",
        """Round the integer n to the nearest multiple of m (m >= 1).

        Exact halves round up, toward positive infinity: with m = 10, 15 gives 20, 25 gives
        30 and -15 gives -10.
        """,
        """
        def round_to_multiple(n: int, m: int) -> int:
            return (2 * n + m) // (2 * m) * m
        """,
        [
            """
            def round_to_multiple(n: int, m: int) -> int:
                q, r = divmod(n, m)
                if 2 * r >= m:
                    q += 1
                return q * m
            """,
            """
            import math
            from fractions import Fraction


            def round_to_multiple(n: int, m: int) -> int:
                return math.floor(Fraction(n, m) + Fraction(1, 2)) * m
            """,
            """
            def round_to_multiple(n: int, m: int) -> int:
                lower = n - n % m
                upper = lower + m
                return upper if upper - n <= n - lower else lower
            """,
        ],
        [
            ("misreading", """
            def round_to_multiple(n: int, m: int) -> int:
                return round(n / m) * m
            """),
            ("edge_case", """
            def round_to_multiple(n: int, m: int) -> int:
                sign = -1 if n < 0 else 1
                return sign * ((abs(n) + m // 2) // m * m)
            """),
            ("partial", """
            def round_to_multiple(n: int, m: int) -> int:
                return int(n / m) * m
            """),
            ("wrong_type", """
            def round_to_multiple(n: int, m: int) -> int:
                return (n / m + 0.5) // 1 * m
            """),
            ("off_by_one", """
            def round_to_multiple(n: int, m: int) -> int:
                return (n + m // 2 - 1) // m * m
            """),
        ],
        [
            ([15, 10], 20), ([-15, 10], -10), ([14, 10], 10), ([25, 10], 30), ([0, 7], 0), ([7, 7], 7),
            ([2, 3], 3), ([1, 3], 0), ([-16, 10], -20), ([100, 1], 100),
        ],
        [[0, 1], [5, 10], [-5, 10], [35, 10], [-25, 10], [3, 2]]
        + sample("round_to_multiple", lambda r: [r.randint(-60, 60), r.choice([1, 2, 3, 4, 5, 10, 10, 10])]),
    ),
    task(
        "binary_gap", "test",
        "def binary_gap(n: int) -> int:",
        """Return the length of the longest run of 0 bits bounded by 1 bits on both sides.

        n >= 0 is read in binary without leading zeros; trailing zeros are not bounded on the
        right and do not count. Return 0 if there is no such run.
        """,
        """
        def binary_gap(n: int) -> int:
            bits = bin(n)[2:].strip("0")
            return max((len(run) for run in bits.split("1")), default=0)
        """,
        [
            """
            import re


            def binary_gap(n: int) -> int:
                gaps = re.findall(r"(?<=1)0+(?=1)", format(n, "b"))
                return max(map(len, gaps), default=0)
            """,
            """
            def binary_gap(n: int) -> int:
                best = 0
                current = -1
                while n:
                    if n & 1:
                        if current > best:
                            best = current
                        current = 0
                    elif current >= 0:
                        current += 1
                    n >>= 1
                return best
            """,
            """
            def binary_gap(n: int) -> int:
                s = format(n, "b")
                ones = [i for i, c in enumerate(s) if c == "1"]
                return max((b - a - 1 for a, b in zip(ones, ones[1:])), default=0)
            """,
        ],
        [
            ("misreading", """
            def binary_gap(n: int) -> int:
                return max(len(run) for run in bin(n)[2:].split("1"))
            """),
            ("crash_on_empty", """
            import re


            def binary_gap(n: int) -> int:
                return max(len(g) for g in re.findall(r"(?<=1)0+(?=1)", bin(n)[2:]))
            """),
            ("partial", """
            def binary_gap(n: int) -> int:
                bits = bin(n)[2:].strip("0")
                runs = [run for run in bits.split("1") if run]
                return len(runs[0]) if runs else 0
            """),
            ("misreading", """
            def binary_gap(n: int) -> int:
                return max((len(run) for run in bin(n)[2:].split("0")), default=0)
            """),
            ("misreading", """
            def binary_gap(n: int) -> int:
                bits = bin(n)[2:].strip("0")
                return bits.count("0")
            """),
        ],
        [
            ([0], 0), ([1], 0), ([9], 2), ([529], 4), ([20], 1), ([15], 0), ([32], 0), ([1041], 5),
            ([73], 2), ([41], 2),
        ],
        [[0], [1], [2], [5], [6], [1024], [1025]]
        + sample("binary_gap", lambda r: [r.choice([r.randint(0, 64), r.randint(0, 5000)])]),
    ),
]
