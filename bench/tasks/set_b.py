"""Tasks B: dicts and parsing small formats."""

from ._helpers import sample, task

_ANY = "from typing import Any"

TASKS = [
    task(
        "parse_kv", "dev",
        "def parse_kv(s: str) -> dict[str, str]:",
        """Parse 'key=value' pairs separated by ';' into a dict.

        Whitespace around keys and values is stripped. Segments with no '=' or whose key is
        empty after stripping are skipped. A value may itself contain '='; only the first '='
        splits. When a key repeats, the last value wins.
        """,
        """
        def parse_kv(s: str) -> dict[str, str]:
            out: dict[str, str] = {}
            for segment in s.split(";"):
                if "=" not in segment:
                    continue
                key, _, value = segment.partition("=")
                if key.strip():
                    out[key.strip()] = value.strip()
            return out
        """,
        [
            """
            def parse_kv(s: str) -> dict[str, str]:
                result = {}
                for part in s.split(";"):
                    pieces = part.split("=", 1)
                    if len(pieces) == 2 and pieces[0].strip():
                        result[pieces[0].strip()] = pieces[1].strip()
                return result
            """,
            """
            import re


            def parse_kv(s: str) -> dict[str, str]:
                pairs = re.findall(r"([^;=]*)=([^;]*)", s)
                return {k.strip(): v.strip() for k, v in pairs if k.strip()}
            """,
            """
            def parse_kv(s: str) -> dict[str, str]:
                segments = [seg for seg in s.split(";") if "=" in seg]
                split = [seg.partition("=") for seg in segments]
                return {k.strip(): v.strip() for k, _, v in split if k.strip() != ""}
            """,
        ],
        [
            ("partial", """
            def parse_kv(s: str) -> dict[str, str]:
                out = {}
                for segment in s.split(";"):
                    if not segment.strip():
                        continue
                    key, value = segment.split("=")
                    if key.strip():
                        out[key.strip()] = value.strip()
                return out
            """),
            ("misreading", """
            def parse_kv(s: str) -> dict[str, str]:
                out: dict[str, str] = {}
                for segment in s.split(";"):
                    if "=" not in segment:
                        continue
                    key, _, value = segment.partition("=")
                    if key.strip() and key.strip() not in out:
                        out[key.strip()] = value.strip()
                return out
            """),
            ("edge_case", """
            def parse_kv(s: str) -> dict[str, str]:
                out: dict[str, str] = {}
                for segment in s.split(";"):
                    if "=" in segment:
                        key, _, value = segment.partition("=")
                        if key.strip():
                            out[key.strip()] = value
                return out
            """),
            ("edge_case", """
            def parse_kv(s: str) -> dict[str, str]:
                out: dict[str, str] = {}
                for segment in s.split(";"):
                    if "=" in segment:
                        key, _, value = segment.partition("=")
                        out[key.strip()] = value.strip()
                return out
            """),
            ("misreading", """
            def parse_kv(s: str) -> dict[str, str]:
                out: dict[str, str] = {}
                for segment in s.split(";"):
                    if "=" in segment:
                        key, _, value = segment.rpartition("=")
                        if key.strip():
                            out[key.strip()] = value.strip()
                return out
            """),
            ("crash_on_empty", """
            def parse_kv(s: str) -> dict[str, str]:
                pairs = [seg.split("=", 1) for seg in s.split(";") if seg.strip()]
                return {k.strip(): v.strip() for k, v in pairs if k.strip()}
            """),
        ],
        [
            (["a=1; b=2"], {"a": "1", "b": "2"}), ([""], {}), (["x = hello world ;"], {"x": "hello world"}),
            (["k=a=b"], {"k": "a=b"}), (["a=1;a=2"], {"a": "2"}), (["junk;c=3"], {"c": "3"}),
            (["=5;d="], {"d": ""}), ([";;e=;"], {"e": ""}), ([" f =  g "], {"f": "g"}),
        ],
        [[""], [";"], ["a"], ["a="], ["=b"], ["p=q=r;p=s"]]
        + sample("parse_kv", lambda r: [";".join(
            r.choice(["a=1", " b = 2 ", "c=x=y", "junk", "", "=z", "a=3", "d=", " e=hello world"])
            for _ in range(r.randint(1, 4)))]),
    ),
    task(
        "group_by_value", "test",
        "def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:",
        """Invert d: map each group number to the sorted list of names that have it.

        Names are sorted with Python's default string ordering.
        """,
        """
        from collections import defaultdict


        def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
            groups: defaultdict[int, list[str]] = defaultdict(list)
            for name, group in d.items():
                groups[group].append(name)
            return {g: sorted(names) for g, names in groups.items()}
        """,
        [
            """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                out: dict[int, list[str]] = {}
                for name in sorted(d):
                    out.setdefault(d[name], []).append(name)
                return out
            """,
            """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                return {v: sorted(k for k in d if d[k] == v) for v in set(d.values())}
            """,
            """
            from itertools import groupby


            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                items = sorted(d.items(), key=lambda kv: (kv[1], kv[0]))
                return {g: [name for name, _ in grp] for g, grp in groupby(items, key=lambda kv: kv[1])}
            """,
        ],
        [
            ("partial", """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                out: dict[int, list[str]] = {}
                for name, group in d.items():
                    out.setdefault(group, []).append(name)
                return out
            """),
            ("wrong_type", """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                return {group: name for name, group in sorted(d.items(), reverse=True)}
            """),
            ("misreading", """
            from collections import Counter


            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                return dict(Counter(d.values()))
            """),
            ("misreading", """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                out: dict[int, list[str]] = {}
                for name, group in d.items():
                    out.setdefault(group, []).append(name)
                return {g: sorted(names, key=str.lower) for g, names in out.items()}
            """),
            ("other", """
            def group_by_value(d: dict[str, int]) -> dict[int, list[str]]:
                out: dict[int, list[str]] = dict.fromkeys(d.values(), [])
                for name in sorted(d):
                    out[d[name]].append(name)
                return out
            """),
        ],
        [
            ([{}], {}), ([{"a": 1}], {1: ["a"]}), ([{"b": 1, "a": 1, "c": 2}], {1: ["a", "b"], 2: ["c"]}),
            ([{"bob": 0, "Alice": 0}], {0: ["Alice", "bob"]}),
            ([{"x": -1, "y": 3, "z": -1}], {-1: ["x", "z"], 3: ["y"]}), ([{"m": 5, "n": 6}], {5: ["m"], 6: ["n"]}),
            ([{"d": 2, "c": 2, "b": 2}], {2: ["b", "c", "d"]}),
            ([{"Banana": 1, "apple": 1, "cy": 2}], {1: ["Banana", "apple"], 2: ["cy"]}),
        ],
        [[{}], [{"q": 0}], [{"a": 1, "A": 1}], [{"b": 2, "a": 3}]]
        + sample("group_by_value", lambda r: [{
            r.choice(["ann", "Bob", "bob", "cy", "Dee", "eve", "al", "Al"]) + r.choice(["", "x"]):
            r.randint(-1, 3) for _ in range(r.randint(0, 6))}]),
    ),
    task(
        "duration_seconds", "dev",
        "def duration_seconds(text: str) -> int:",
        """Convert a duration written as 'H:MM:SS', 'M:SS' or 'S' to a number of seconds.

        Fields are separated by ':'. The last field is seconds, the one before it minutes and
        the one before that hours. Fields are non-negative integers of any size: '90' is 90
        seconds and '1:75' is 135 seconds.
        """,
        """
        def duration_seconds(text: str) -> int:
            total = 0
            for part in text.split(":"):
                total = total * 60 + int(part)
            return total
        """,
        [
            """
            def duration_seconds(text: str) -> int:
                fields = text.split(":")
                return sum(int(f) * 60**i for i, f in enumerate(reversed(fields)))
            """,
            """
            def duration_seconds(text: str) -> int:
                parts = [int(p) for p in text.split(":")]
                while len(parts) < 3:
                    parts.insert(0, 0)
                hours, minutes, seconds = parts
                return hours * 3600 + minutes * 60 + seconds
            """,
            """
            from functools import reduce


            def duration_seconds(text: str) -> int:
                return reduce(lambda acc, f: acc * 60 + int(f), text.split(":"), 0)
            """,
        ],
        [
            ("misreading", """
            def duration_seconds(text: str) -> int:
                parts = [int(p) for p in text.split(":")]
                if len(parts) == 3:
                    return parts[0] * 3600 + parts[1] * 60 + parts[2]
                if len(parts) == 2:
                    return parts[0] * 3600 + parts[1] * 60
                return parts[0]
            """),
            ("partial", """
            def duration_seconds(text: str) -> int:
                hours, minutes, seconds = text.split(":")
                return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
            """),
            ("edge_case", """
            from datetime import datetime


            def duration_seconds(text: str) -> int:
                fmt = {1: "%S", 2: "%M:%S", 3: "%H:%M:%S"}[text.count(":") + 1]
                t = datetime.strptime(text, fmt)
                return t.hour * 3600 + t.minute * 60 + t.second
            """),
            ("other", """
            def duration_seconds(text: str) -> int:
                total = 0
                for part in reversed(text.split(":")):
                    total = total * 60 + int(part)
                return total
            """),
            ("wrong_type", """
            def duration_seconds(text: str) -> int:
                fields = text.split(":")
                return sum(int(f) * 60.0**i for i, f in enumerate(reversed(fields)))
            """),
        ],
        [
            (["0"], 0), (["45"], 45), (["1:30"], 90), (["1:00:00"], 3600), (["2:03:04"], 7384),
            (["90"], 90), (["0:01:75"], 135), (["25:00:00"], 90000), (["0:05"], 5), (["10:00"], 600),
        ],
        [["0"], ["59"], ["60"], ["0:00"], ["0:00:01"], ["100:00:00"]]
        + sample("duration_seconds", lambda r: [":".join(
            [str(r.randint(0, 30))] + [f"{r.randint(0, 99):02d}" for _ in range(r.randint(0, 2))])]),
    ),
    task(
        "group_anagrams", "test",
        "def group_anagrams(words: list[str]) -> list[list[str]]:",
        """Group the words that are anagrams of each other (same letters, same counts).

        Comparison is case-sensitive. Groups appear in the order of their first word in
        words, and the words inside a group keep their input order. Repeated words are kept.
        """,
        """
        def group_anagrams(words: list[str]) -> list[list[str]]:
            groups: dict[str, list[str]] = {}
            for word in words:
                groups.setdefault("".join(sorted(word)), []).append(word)
            return list(groups.values())
        """,
        [
            """
            from collections import Counter


            def group_anagrams(words: list[str]) -> list[list[str]]:
                keys: list[Counter[str]] = []
                out: list[list[str]] = []
                for w in words:
                    c = Counter(w)
                    for i, k in enumerate(keys):
                        if k == c:
                            out[i].append(w)
                            break
                    else:
                        keys.append(c)
                        out.append([w])
                return out
            """,
            """
            from collections import defaultdict


            def group_anagrams(words: list[str]) -> list[list[str]]:
                by_key: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
                for w in words:
                    by_key[tuple(sorted(w))].append(w)
                return [group for group in by_key.values()]
            """,
            """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                order: list[str] = []
                members: dict[str, list[str]] = {}
                for word in words:
                    key = "".join(sorted(word))
                    if key not in members:
                        order.append(key)
                        members[key] = []
                    members[key].append(word)
                return [members[k] for k in order]
            """,
        ],
        [
            ("misreading", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[str, list[str]] = {}
                for word in words:
                    groups.setdefault("".join(sorted(word)), []).append(word)
                return [sorted(g) for g in groups.values()]
            """),
            ("misreading", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[str, list[str]] = {}
                for word in words:
                    groups.setdefault("".join(sorted(word.lower())), []).append(word)
                return list(groups.values())
            """),
            ("partial", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[frozenset[str], list[str]] = {}
                for word in words:
                    groups.setdefault(frozenset(word), []).append(word)
                return list(groups.values())
            """),
            ("edge_case", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[str, list[str]] = {}
                for word in dict.fromkeys(words):
                    groups.setdefault("".join(sorted(word)), []).append(word)
                return list(groups.values())
            """),
            ("other", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[str, list[str]] = {}
                for word in words:
                    groups.setdefault("".join(sorted(word)), []).append(word)
                return [groups[k] for k in sorted(groups)]
            """),
            ("wrong_type", """
            def group_anagrams(words: list[str]) -> list[list[str]]:
                groups: dict[str, list[str]] = {}
                for word in words:
                    groups.setdefault("".join(sorted(word)), []).append(word)
                return [tuple(g) for g in groups.values()]
            """),
        ],
        [
            ([[]], []),
            ([["eat", "tea", "tan", "ate", "nat", "bat"]], [["eat", "tea", "ate"], ["tan", "nat"], ["bat"]]),
            ([["a"]], [["a"]]), ([["ab", "ba", "ab"]], [["ab", "ba", "ab"]]), ([["Tea", "eat"]], [["Tea"], ["eat"]]),
            ([["aab", "abb"]], [["aab"], ["abb"]]), ([["zz", "b", "zz"]], [["zz", "zz"], ["b"]]),
            ([["", ""]], [["", ""]]), ([["cab", "bca", "x"]], [["cab", "bca"], ["x"]]),
        ],
        [[[]], [["x"]], [["ab", "AB"]], [["", "a"]], [["no", "on", "no"]]]
        + sample("group_anagrams", lambda r: [[
            r.choice(["eat", "tea", "Ate", "tan", "nat", "aab", "aba", "abb", "b", "", "zz"])
            for _ in range(r.randint(0, 6))]]),
    ),
    task(
        "ordinal_suffix", "dev",
        "def ordinal_suffix(n: int) -> str:",
        """Return n >= 0 written as an English ordinal, number and suffix together.

        For example 1 -> '1st', 2 -> '2nd', 3 -> '3rd', 4 -> '4th', 11 -> '11th',
        12 -> '12th', 21 -> '21st', 112 -> '112th', 0 -> '0th'.
        """,
        """
        def ordinal_suffix(n: int) -> str:
            if n % 100 in (11, 12, 13):
                return f"{n}th"
            return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        """,
        [
            """
            def ordinal_suffix(n: int) -> str:
                if 10 <= n % 100 <= 20:
                    suffix = "th"
                elif n % 10 == 1:
                    suffix = "st"
                elif n % 10 == 2:
                    suffix = "nd"
                elif n % 10 == 3:
                    suffix = "rd"
                else:
                    suffix = "th"
                return str(n) + suffix
            """,
            """
            def ordinal_suffix(n: int) -> str:
                suffixes = ["th", "st", "nd", "rd"] + ["th"] * 6
                last = n % 10
                if (n // 10) % 10 == 1:
                    return f"{n}th"
                return f"{n}{suffixes[last]}"
            """,
            """
            def ordinal_suffix(n: int) -> str:
                tens, ones = divmod(n % 100, 10)
                special = {1: "st", 2: "nd", 3: "rd"}
                return f"{n}{'th' if tens == 1 else special.get(ones, 'th')}"
            """,
        ],
        [
            ("partial", """
            def ordinal_suffix(n: int) -> str:
                return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            """),
            ("edge_case", """
            def ordinal_suffix(n: int) -> str:
                if n in (11, 12, 13):
                    return f"{n}th"
                return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            """),
            ("off_by_one", """
            def ordinal_suffix(n: int) -> str:
                if n % 100 in range(11, 13):
                    return f"{n}th"
                return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            """),
            ("misreading", """
            def ordinal_suffix(n: int) -> str:
                if n % 100 in (11, 12, 13):
                    return "th"
                return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            """),
            ("partial", """
            def ordinal_suffix(n: int) -> str:
                if n % 100 in (11, 12, 13):
                    return f"{n}th"
                return f"{n}" + {0: "th", 1: "st", 2: "nd", 3: "rd"}[n % 10]
            """),
        ],
        [
            ([1], "1st"), ([2], "2nd"), ([3], "3rd"), ([4], "4th"), ([11], "11th"), ([13], "13th"),
            ([21], "21st"), ([112], "112th"), ([0], "0th"), ([101], "101st"), ([20], "20th"),
        ],
        [[0], [1], [10], [11], [12], [13], [111], [1000]]
        + sample("ordinal_suffix", lambda r: [r.choice([r.randint(0, 30), r.randint(100, 125),
                                                        r.randint(0, 5000)])]),
    ),
    task(
        "int_to_roman", "test",
        "def int_to_roman(n: int) -> str:",
        """Return the Roman numeral for 1 <= n <= 3999, upper-case, in standard form.

        Standard form uses the subtractive pairs IV, IX, XL, XC, CD and CM (so 4 is IV, 40 is
        XL and 1994 is MCMXCIV).
        """,
        """
        VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                  (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


        def int_to_roman(n: int) -> str:
            out = []
            for value, symbol in VALUES:
                while n >= value:
                    out.append(symbol)
                    n -= value
            return "".join(out)
        """,
        [
            """
            def int_to_roman(n: int) -> str:
                thousands = ["", "M", "MM", "MMM"]
                hundreds = ["", "C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM"]
                tens = ["", "X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC"]
                ones = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
                return thousands[n // 1000] + hundreds[n // 100 % 10] + tens[n // 10 % 10] + ones[n % 10]
            """,
            """
            def int_to_roman(n: int) -> str:
                table = {1000: "M", 900: "CM", 500: "D", 400: "CD", 100: "C", 90: "XC", 50: "L",
                         40: "XL", 10: "X", 9: "IX", 5: "V", 4: "IV", 1: "I"}
                result = ""
                for value in sorted(table, reverse=True):
                    count, n = divmod(n, value)
                    result += table[value] * count
                return result
            """,
            """
            def int_to_roman(n: int) -> str:
                def digit(d: int, one: str, five: str, ten: str) -> str:
                    if d == 9:
                        return one + ten
                    if d >= 5:
                        return five + one * (d - 5)
                    if d == 4:
                        return one + five
                    return one * d

                return ("M" * (n // 1000) + digit(n // 100 % 10, "C", "D", "M")
                        + digit(n // 10 % 10, "X", "L", "C") + digit(n % 10, "I", "V", "X"))
            """,
        ],
        [
            ("partial", """
            VALUES = [(1000, "M"), (500, "D"), (100, "C"), (50, "L"), (10, "X"), (5, "V"), (1, "I")]


            def int_to_roman(n: int) -> str:
                out = []
                for value, symbol in VALUES:
                    while n >= value:
                        out.append(symbol)
                        n -= value
                return "".join(out)
            """),
            ("partial", """
            VALUES = [(1000, "M"), (500, "D"), (100, "C"), (50, "L"), (10, "X"), (9, "IX"), (5, "V"),
                      (4, "IV"), (1, "I")]


            def int_to_roman(n: int) -> str:
                out = []
                for value, symbol in VALUES:
                    while n >= value:
                        out.append(symbol)
                        n -= value
                return "".join(out)
            """),
            ("off_by_one", """
            VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                      (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


            def int_to_roman(n: int) -> str:
                out = []
                for value, symbol in VALUES:
                    while n > value:
                        out.append(symbol)
                        n -= value
                return "".join(out)
            """),
            ("other", """
            VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                      (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (4, "IV"), (5, "V"), (1, "I")]


            def int_to_roman(n: int) -> str:
                out = []
                for value, symbol in VALUES:
                    while n >= value:
                        out.append(symbol)
                        n -= value
                return "".join(out)
            """),
            ("misreading", """
            VALUES = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                      (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


            def int_to_roman(n: int) -> str:
                out = []
                for value, symbol in VALUES:
                    while n >= value:
                        out.append(symbol)
                        n -= value
                return "".join(out)
            """),
            ("edge_case", """
            def int_to_roman(n: int) -> str:
                thousands = ["", "M", "MM"]
                hundreds = ["", "C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM"]
                tens = ["", "X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC"]
                ones = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
                return thousands[n // 1000] + hundreds[n // 100 % 10] + tens[n // 10 % 10] + ones[n % 10]
            """),
        ],
        [
            ([1], "I"), ([4], "IV"), ([9], "IX"), ([14], "XIV"), ([40], "XL"), ([90], "XC"), ([400], "CD"),
            ([1994], "MCMXCIV"), ([3999], "MMMCMXCIX"), ([8], "VIII"), ([58], "LVIII"),
        ],
        [[1], [3], [5], [10], [2024], [3888]]
        + sample("int_to_roman", lambda r: [r.choice([r.randint(1, 60), r.randint(1, 3999)])]),
    ),
    task(
        "csv_split", "dev",
        "def csv_split(line: str) -> list[str]:",
        """Split one line of comma-separated values into its fields.

        A field is either unquoted (no quotes inside, whitespace kept as-is) or wrapped in
        double quotes; inside quotes a comma is literal and a doubled quote "" stands for one
        quote character. The quotes themselves are not part of the field. An empty line is
        one empty field, and a trailing comma ends with an empty field.
        """,
        """
        def csv_split(line: str) -> list[str]:
            fields: list[str] = []
            current: list[str] = []
            in_quotes = False
            i = 0
            while i < len(line):
                ch = line[i]
                if in_quotes:
                    if ch == '"' and line[i + 1 : i + 2] == '"':
                        current.append('"')
                        i += 1
                    elif ch == '"':
                        in_quotes = False
                    else:
                        current.append(ch)
                elif ch == '"':
                    in_quotes = True
                elif ch == ",":
                    fields.append("".join(current))
                    current = []
                else:
                    current.append(ch)
                i += 1
            fields.append("".join(current))
            return fields
        """,
        [
            """
            import csv


            def csv_split(line: str) -> list[str]:
                row = next(csv.reader([line]))
                return row or [""]
            """,
            """
            import re


            def csv_split(line: str) -> list[str]:
                pattern = re.compile(r'"((?:[^"]|"")*)"|([^,]*)')
                fields = []
                pos = 0
                while True:
                    m = pattern.match(line, pos)
                    assert m is not None
                    if m.group(1) is not None:
                        fields.append(m.group(1).replace('""', '"'))
                    else:
                        fields.append(m.group(2))
                    pos = m.end()
                    if pos >= len(line) or line[pos] != ",":
                        return fields
                    pos += 1
            """,
            """
            def csv_split(line: str) -> list[str]:
                out = [""]
                quoted = False
                prev = ""
                for ch in line:
                    if ch == '"':
                        if quoted:
                            quoted = False
                        else:
                            if prev == '"':
                                out[-1] += '"'
                            quoted = True
                    elif ch == "," and not quoted:
                        out.append("")
                    else:
                        out[-1] += ch
                    prev = ch
                return out
            """,
        ],
        [
            ("partial", """
            def csv_split(line: str) -> list[str]:
                return line.split(",")
            """),
            ("partial", """
            def csv_split(line: str) -> list[str]:
                fields, current, in_quotes = [], "", False
                for ch in line:
                    if ch == '"':
                        in_quotes = not in_quotes
                    elif ch == "," and not in_quotes:
                        fields.append(current)
                        current = ""
                    else:
                        current += ch
                fields.append(current)
                return fields
            """),
            ("misreading", """
            import csv


            def csv_split(line: str) -> list[str]:
                row = next(csv.reader([line]))
                return [field.strip() for field in row] or [""]
            """),
            ("edge_case", """
            def csv_split(line: str) -> list[str]:
                fields: list[str] = []
                current = ""
                in_quotes = False
                i = 0
                while i < len(line):
                    ch = line[i]
                    if in_quotes and ch == '"' and line[i + 1 : i + 2] == '"':
                        current += '"'
                        i += 1
                    elif ch == '"':
                        in_quotes = not in_quotes
                    elif ch == "," and not in_quotes:
                        fields.append(current)
                        current = ""
                    else:
                        current += ch
                    i += 1
                if current:
                    fields.append(current)
                return fields
            """),
            ("edge_case", """
            import csv


            def csv_split(line: str) -> list[str]:
                return next(csv.reader([line]))
            """),
            ("misreading", """
            import re


            def csv_split(line: str) -> list[str]:
                return re.findall(r'"(?:[^"]|"")*"|[^,]+|(?<=,)(?=,|$)|^(?=,)', line) or [""]
            """),
        ],
        [
            (["a,b,c"], ["a", "b", "c"]), ([""], [""]), (['"x,y",z'], ["x,y", "z"]),
            (['"say ""hi""",1'], ['say "hi"', "1"]), (["a,,b"], ["a", "", "b"]), (["a,"], ["a", ""]),
            ([" a , b"], [" a ", " b"]), (['""'], [""]), ([","], ["", ""]),
        ],
        [[""], [","], ['""'], ['"a"'], ["x"], ['" , "']]
        + sample("csv_split", lambda r: [",".join(
            r.choice(["a", "", " b ", '"x,y"', '"q""t"', "12", '""', "hello world"])
            for _ in range(r.randint(1, 4)))]),
    ),
    task(
        "merge_counts", "test",
        "def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:",
        """Add two count mappings.

        The result has every key of a or b with the sum of its counts; keys whose sum is 0
        are left out. Counts may be negative. Neither input is modified.
        """,
        """
        def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            out = dict(a)
            for key, count in b.items():
                out[key] = out.get(key, 0) + count
            return {k: v for k, v in out.items() if v != 0}
        """,
        [
            """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                keys = set(a) | set(b)
                sums = {k: a.get(k, 0) + b.get(k, 0) for k in keys}
                return {k: v for k, v in sums.items() if v}
            """,
            """
            from collections import defaultdict


            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                total: defaultdict[str, int] = defaultdict(int)
                for source in (a, b):
                    for key, n in source.items():
                        total[key] += n
                return {key: n for key, n in total.items() if n != 0}
            """,
            """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                result: dict[str, int] = {}
                for key in list(a) + [k for k in b if k not in a]:
                    value = a.get(key, 0) + b.get(key, 0)
                    if value != 0:
                        result[key] = value
                return result
            """,
        ],
        [
            ("partial", """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                out = dict(a)
                for key, count in b.items():
                    out[key] = out.get(key, 0) + count
                return out
            """),
            ("misreading", """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                return {k: v for k, v in {**a, **b}.items() if v != 0}
            """),
            ("other", """
            from collections import Counter


            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                return dict(Counter(a) + Counter(b))
            """),
            ("partial", """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                out = {k: a[k] + b.get(k, 0) for k in a}
                return {k: v for k, v in out.items() if v != 0}
            """),
            ("edge_case", """
            def merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
                out = {k: a[k] + b[k] for k in set(a) | set(b)}
                return {k: v for k, v in out.items() if v != 0}
            """),
        ],
        [
            ([{}, {}], {}), ([{"a": 1}, {}], {"a": 1}), ([{}, {"b": 2}], {"b": 2}),
            ([{"a": 1, "b": 2}, {"b": 3, "c": 1}], {"a": 1, "b": 5, "c": 1}), ([{"a": 2}, {"a": -2}], {}),
            ([{"x": -3}, {"y": 1}], {"x": -3, "y": 1}), ([{"a": 0}, {}], {}),
            ([{"k": 1, "j": 1}, {"k": 1, "j": 1}], {"k": 2, "j": 2}),
        ],
        [[{}, {}], [{"a": 1}, {"a": 1}], [{"a": -1}, {}], [{}, {"z": 0}]]
        + sample("merge_counts", lambda r: [
            {k: r.randint(-2, 3) for k in r.sample("abcde", r.randint(0, 3))},
            {k: r.randint(-2, 3) for k in r.sample("abcde", r.randint(0, 3))}]),
    ),
    task(
        "compare_versions", "dev",
        "def compare_versions(a: str, b: str) -> int:",
        """Compare dotted version strings such as '1.10.2'.

        Components are compared as integers from left to right; a missing component counts
        as 0, so '1.2' equals '1.2.0'. Return -1 if a < b, 0 if they are equal, 1 if a > b.
        """,
        """
        def compare_versions(a: str, b: str) -> int:
            xs = [int(p) for p in a.split(".")]
            ys = [int(p) for p in b.split(".")]
            n = max(len(xs), len(ys))
            xs += [0] * (n - len(xs))
            ys += [0] * (n - len(ys))
            return (xs > ys) - (xs < ys)
        """,
        [
            """
            from itertools import zip_longest


            def compare_versions(a: str, b: str) -> int:
                for x, y in zip_longest(a.split("."), b.split("."), fillvalue="0"):
                    if int(x) != int(y):
                        return 1 if int(x) > int(y) else -1
                return 0
            """,
            """
            def compare_versions(a: str, b: str) -> int:
                def norm(v: str) -> tuple[int, ...]:
                    parts = [int(p) for p in v.split(".")]
                    while parts and parts[-1] == 0:
                        parts.pop()
                    return tuple(parts)

                x, y = norm(a), norm(b)
                if x == y:
                    return 0
                return -1 if x < y else 1
            """,
            """
            def compare_versions(a: str, b: str) -> int:
                left, right = a.split("."), b.split(".")
                for i in range(max(len(left), len(right))):
                    p = int(left[i]) if i < len(left) else 0
                    q = int(right[i]) if i < len(right) else 0
                    if p < q:
                        return -1
                    if p > q:
                        return 1
                return 0
            """,
        ],
        [
            ("partial", """
            def compare_versions(a: str, b: str) -> int:
                return (a > b) - (a < b)
            """),
            ("misreading", """
            def compare_versions(a: str, b: str) -> int:
                xs = [int(p) for p in a.split(".")]
                ys = [int(p) for p in b.split(".")]
                return (xs > ys) - (xs < ys)
            """),
            ("misreading", """
            from itertools import zip_longest


            def compare_versions(a: str, b: str) -> int:
                for x, y in zip_longest(a.split("."), b.split("."), fillvalue="0"):
                    if int(x) != int(y):
                        return int(x) - int(y)
                return 0
            """),
            ("edge_case", """
            def compare_versions(a: str, b: str) -> int:
                xs = [int(p) for p in a.rstrip(".0").split(".")]
                ys = [int(p) for p in b.rstrip(".0").split(".")]
                return (xs > ys) - (xs < ys)
            """),
            ("off_by_one", """
            def compare_versions(a: str, b: str) -> int:
                for x, y in zip(a.split("."), b.split(".")):
                    if int(x) != int(y):
                        return 1 if int(x) > int(y) else -1
                return 0
            """),
        ],
        [
            (["1.0", "1.0"], 0), (["1.2", "1.10"], -1), (["1.2", "1.2.0"], 0), (["2.0", "1.9.9"], 1),
            (["1.2", "1.2.1"], -1), (["1.10", "1.1"], 1), (["0.1", "0.01"], 0), (["3", "3.0.0.0"], 0),
            (["1.0.1", "1"], 1), (["10.4", "9.14"], 1),
        ],
        [["0", "0"], ["1", "1.0"], ["1.0", "1"], ["2", "10"], ["1.01", "1.1"]]
        + sample("compare_versions", lambda r: [
            ".".join(str(r.choice([0, 0, 1, 2, 9, 10, 12])) for _ in range(r.randint(1, 3))),
            ".".join(str(r.choice([0, 0, 1, 2, 9, 10, 12])) for _ in range(r.randint(1, 3)))]),
    ),
    task(
        "expand_ranges", "test",
        "def expand_ranges(spec: str) -> list[int]:",
        """Expand a page-range string like '1-3,5,8-9' into a sorted list of distinct integers.

        Parts are separated by commas and may have spaces around them and around the '-'.
        'a-b' (with a <= b) includes both ends. Numbers are non-negative. A blank string
        gives [].
        """,
        """
        def expand_ranges(spec: str) -> list[int]:
            pages: set[int] = set()
            for part in spec.split(","):
                part = part.strip()
                if not part:
                    continue
                if "-" in part:
                    lo, hi = part.split("-")
                    pages.update(range(int(lo), int(hi) + 1))
                else:
                    pages.add(int(part))
            return sorted(pages)
        """,
        [
            """
            import re


            def expand_ranges(spec: str) -> list[int]:
                out: set[int] = set()
                for lo, hi in re.findall(r"(\\d+)(?:\\s*-\\s*(\\d+))?", spec):
                    out.update(range(int(lo), int(hi or lo) + 1))
                return sorted(out)
            """,
            """
            def expand_ranges(spec: str) -> list[int]:
                numbers = []
                for chunk in spec.split(","):
                    if chunk.strip() == "":
                        continue
                    ends = [int(x) for x in chunk.split("-")]
                    numbers.extend(range(ends[0], ends[-1] + 1))
                return sorted(set(numbers))
            """,
            """
            def expand_ranges(spec: str) -> list[int]:
                if not spec.strip():
                    return []
                result: list[int] = []
                for item in spec.split(","):
                    start, _, end = item.strip().partition("-")
                    first = int(start)
                    last = int(end) if end else first
                    for page in range(first, last + 1):
                        if page not in result:
                            result.append(page)
                result.sort()
                return result
            """,
        ],
        [
            ("off_by_one", """
            def expand_ranges(spec: str) -> list[int]:
                pages: set[int] = set()
                for part in spec.split(","):
                    part = part.strip()
                    if not part:
                        continue
                    if "-" in part:
                        lo, hi = part.split("-")
                        pages.update(range(int(lo), int(hi)))
                    else:
                        pages.add(int(part))
                return sorted(pages)
            """),
            ("partial", """
            def expand_ranges(spec: str) -> list[int]:
                pages: list[int] = []
                for part in spec.split(","):
                    part = part.strip()
                    if not part:
                        continue
                    if "-" in part:
                        lo, hi = part.split("-")
                        pages.extend(range(int(lo), int(hi) + 1))
                    else:
                        pages.append(int(part))
                return sorted(pages)
            """),
            ("edge_case", """
            def expand_ranges(spec: str) -> list[int]:
                pages: list[int] = []
                for part in spec.split(","):
                    part = part.strip()
                    if not part:
                        continue
                    if "-" in part:
                        lo, hi = part.split("-")
                        pages.extend(range(int(lo), int(hi) + 1))
                    else:
                        pages.append(int(part))
                return list(dict.fromkeys(pages))
            """),
            ("crash_on_empty", """
            def expand_ranges(spec: str) -> list[int]:
                pages: set[int] = set()
                for part in spec.split(","):
                    if "-" in part:
                        lo, hi = part.split("-")
                        pages.update(range(int(lo), int(hi) + 1))
                    else:
                        pages.add(int(part))
                return sorted(pages)
            """),
            ("misreading", """
            def expand_ranges(spec: str) -> list[int]:
                pages: set[int] = set()
                for part in spec.split(","):
                    part = part.strip()
                    if part:
                        pages.update(int(x) for x in part.split("-"))
                return sorted(pages)
            """),
        ],
        [
            (["1-3,5,8-9"], [1, 2, 3, 5, 8, 9]), ([""], []), (["7"], [7]), (["3,1,2"], [1, 2, 3]),
            (["1-2,2-3"], [1, 2, 3]), ([" 4 - 6 , 1 "], [1, 4, 5, 6]), (["5-5"], [5]),
            (["10-12,11"], [10, 11, 12]), (["   "], []),
        ],
        [[""], [" "], ["0"], ["0-0"], ["2-4"], ["4,3"]]
        + sample("expand_ranges", lambda r: [",".join(
            (f"{a}-{a + r.randint(0, 3)}" if r.random() < 0.5 else str(a))
            for a in (r.randint(0, 12) for _ in range(r.randint(0, 4))))]),
    ),
    task(
        "format_ranges", "dev",
        "def format_ranges(nums: list[int]) -> str:",
        """Collapse integers into a range string such as '1-3,5,7-8'.

        Sort and de-duplicate nums, then write each maximal run of consecutive integers as
        'a-b' ('a' for a run of one number; a run of two is also 'a-b'), runs joined by ','
        with no spaces. An empty list gives ''.
        """,
        """
        def format_ranges(nums: list[int]) -> str:
            values = sorted(set(nums))
            runs: list[list[int]] = []
            for v in values:
                if runs and v == runs[-1][1] + 1:
                    runs[-1][1] = v
                else:
                    runs.append([v, v])
            return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        """,
        [
            """
            from itertools import groupby


            def format_ranges(nums: list[int]) -> str:
                parts = []
                ordered = sorted(set(nums))
                for _, grp in groupby(enumerate(ordered), key=lambda p: p[1] - p[0]):
                    run = [v for _, v in grp]
                    parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
                return ",".join(parts)
            """,
            """
            def format_ranges(nums: list[int]) -> str:
                xs = sorted(set(nums))
                out = []
                i = 0
                while i < len(xs):
                    j = i
                    while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
                        j += 1
                    out.append(f"{xs[i]}-{xs[j]}" if j > i else f"{xs[i]}")
                    i = j + 1
                return ",".join(out)
            """,
            """
            def format_ranges(nums: list[int]) -> str:
                if not nums:
                    return ""
                xs = sorted(set(nums))
                pieces = []
                start = prev = xs[0]
                for x in xs[1:] + [None]:
                    if x is not None and x == prev + 1:
                        prev = x
                        continue
                    pieces.append(str(start) if start == prev else f"{start}-{prev}")
                    if x is not None:
                        start = prev = x
                return ",".join(pieces)
            """,
        ],
        [
            ("misreading", """
            def format_ranges(nums: list[int]) -> str:
                values = sorted(set(nums))
                runs: list[list[int]] = []
                for v in values:
                    if runs and v == runs[-1][1] + 1:
                        runs[-1][1] = v
                    else:
                        runs.append([v, v])
                parts = []
                for a, b in runs:
                    if a == b:
                        parts.append(str(a))
                    elif b == a + 1:
                        parts.append(f"{a},{b}")
                    else:
                        parts.append(f"{a}-{b}")
                return ",".join(parts)
            """),
            ("edge_case", """
            def format_ranges(nums: list[int]) -> str:
                runs: list[list[int]] = []
                for v in dict.fromkeys(nums):
                    if runs and v == runs[-1][1] + 1:
                        runs[-1][1] = v
                    else:
                        runs.append([v, v])
                return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
            """),
            ("partial", """
            def format_ranges(nums: list[int]) -> str:
                runs: list[list[int]] = []
                for v in sorted(nums):
                    if runs and v == runs[-1][1] + 1:
                        runs[-1][1] = v
                    else:
                        runs.append([v, v])
                return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
            """),
            ("crash_on_empty", """
            def format_ranges(nums: list[int]) -> str:
                xs = sorted(set(nums))
                start = prev = xs[0]
                parts = []
                for x in xs[1:]:
                    if x != prev + 1:
                        parts.append(str(start) if start == prev else f"{start}-{prev}")
                        start = x
                    prev = x
                parts.append(str(start) if start == prev else f"{start}-{prev}")
                return ",".join(parts)
            """),
            ("off_by_one", """
            def format_ranges(nums: list[int]) -> str:
                xs = sorted(set(nums))
                parts = []
                start = prev = None
                for x in xs:
                    if prev is not None and x == prev + 1:
                        prev = x
                        continue
                    if start is not None:
                        parts.append(str(start) if start == prev else f"{start}-{prev}")
                    start = prev = x
                return ",".join(parts)
            """),
            ("misreading", """
            def format_ranges(nums: list[int]) -> str:
                values = sorted(set(nums))
                runs: list[list[int]] = []
                for v in values:
                    if runs and v == runs[-1][1] + 1:
                        runs[-1][1] = v
                    else:
                        runs.append([v, v])
                return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
            """),
        ],
        [
            ([[]], ""), ([[1, 2, 3, 5, 7, 8]], "1-3,5,7-8"), ([[5]], "5"), ([[3, 1, 2]], "1-3"),
            ([[1, 1, 2]], "1-2"), ([[1, 3, 5]], "1,3,5"), ([[-2, -1, 0, 4]], "-2-0,4"), ([[10, 11]], "10-11"),
            ([[4, 4]], "4"),
        ],
        [[[]], [[0]], [[2, 1]], [[7, 7, 7]], [[1, 2, 4, 5]]]
        + sample("format_ranges", lambda r: [[r.randint(-3, 14) for _ in range(r.randint(0, 8))]]),
    ),
    task(
        "nested_get", "test",
        "def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:",
        """Look up a dotted path such as 'a.b.c' in nested dicts.

        Return default if a key along the path is missing or the value at some step is not a
        dict. The value found is returned as it is, even when it is falsy (0, '', None, False).
        An empty path returns data itself.
        """,
        """
        from typing import Any


        def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
            if path == "":
                return data
            current: Any = data
            for key in path.split("."):
                if not isinstance(current, dict) or key not in current:
                    return default
                current = current[key]
            return current
        """,
        [
            """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if not path:
                    return data
                node: Any = data
                try:
                    for key in path.split("."):
                        if not isinstance(node, dict):
                            return default
                        node = node[key]
                except KeyError:
                    return default
                return node
            """,
            """
            from typing import Any

            _MISSING = object()


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                node: Any = data
                for key in path.split(".") if path else []:
                    node = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
                    if node is _MISSING:
                        return default
                return node
            """,
            """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if path == "":
                    return data
                head, _, rest = path.partition(".")
                if head not in data:
                    return default
                value = data[head]
                if not rest:
                    return value
                if not isinstance(value, dict):
                    return default
                return nested_get(value, rest, default)
            """,
        ],
        [
            ("edge_case", """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if path == "":
                    return data
                current: Any = data
                for key in path.split("."):
                    if not isinstance(current, dict):
                        return default
                    current = current.get(key)
                return current or default
            """),
            ("partial", """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if path == "":
                    return data
                current: Any = data
                for key in path.split("."):
                    if key not in current:
                        return default
                    current = current[key]
                return current
            """),
            ("edge_case", """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                current: Any = data
                for key in path.split("."):
                    if not isinstance(current, dict) or key not in current:
                        return default
                    current = current[key]
                return current
            """),
            ("other", """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if path == "":
                    return data
                current: Any = data
                for key in path.split("."):
                    current = current.get(key, default)
                return current
            """),
            ("misreading", """
            from typing import Any


            def nested_get(data: dict[str, Any], path: str, default: Any = None) -> Any:
                if path == "":
                    return data
                current: Any = data
                for key in path.split("."):
                    if not isinstance(current, dict) or key not in current:
                        return None
                    current = current[key]
                return current
            """),
        ],
        [
            ([{"a": {"b": {"c": 1}}}, "a.b.c", None], 1), ([{"a": {"b": 0}}, "a.b", 5], 0),
            ([{"a": 1}, "a.b", "x"], "x"), ([{}, "a", -1], -1), ([{"a": {"b": 2}}, "", None], {"a": {"b": 2}}),
            ([{"a": {"b": None}}, "a.b", 7], None), ([{"a": "str"}, "a.b", 3], 3),
            ([{"x": {"y": {}}}, "x.y", 1], {}), ([{"a": {}}, "a.b.c", 0], 0), ([{"k": False}, "k", True], False),
        ],
        [[{}, "", 0], [{"a": 0}, "a", 1], [{"a": {"b": ""}}, "a.b", "d"], [{"a": [1]}, "a.0", -1]]
        + sample("nested_get", lambda r: [
            r.choice([{"a": {"b": {"c": 3}}}, {"a": {"b": 0}}, {"a": 5, "b": {"c": None}},
                      {"x": {"y": ""}}, {}, {"a": {"b": {"c": False}}}]),
            r.choice(["a", "a.b", "a.b.c", "b.c", "x.y", "x", "", "a.c"]),
            r.choice([None, 0, -1, "d", []])]),
    ),
    task(
        "most_common_char", "dev",
        "def most_common_char(s: str) -> str | None:",
        """Return the character that occurs most often in s, ignoring space characters (' ').

        Comparison is case-sensitive. On a tie, return the one that appears first in s.
        Return None if s has no characters other than spaces.
        """,
        """
        def most_common_char(s: str) -> str | None:
            counts: dict[str, int] = {}
            for ch in s:
                if ch != " ":
                    counts[ch] = counts.get(ch, 0) + 1
            best = None
            for ch, n in counts.items():
                if best is None or n > counts[best]:
                    best = ch
            return best
        """,
        [
            """
            from collections import Counter


            def most_common_char(s: str) -> str | None:
                counts = Counter(s.replace(" ", ""))
                return counts.most_common(1)[0][0] if counts else None
            """,
            """
            def most_common_char(s: str) -> str | None:
                chars = [c for c in s if c != " "]
                if not chars:
                    return None
                return max(dict.fromkeys(chars), key=chars.count)
            """,
            """
            def most_common_char(s: str) -> str | None:
                stripped = s.replace(" ", "")
                if not stripped:
                    return None
                return min(set(stripped), key=lambda c: (-stripped.count(c), stripped.index(c)))
            """,
        ],
        [
            ("misreading", """
            from collections import Counter


            def most_common_char(s: str) -> str | None:
                counts = Counter(s.replace(" ", ""))
                if not counts:
                    return None
                return min(counts, key=lambda c: (-counts[c], c))
            """),
            ("partial", """
            from collections import Counter


            def most_common_char(s: str) -> str | None:
                counts = Counter(s)
                return counts.most_common(1)[0][0] if counts else None
            """),
            ("misreading", """
            from collections import Counter


            def most_common_char(s: str) -> str | None:
                counts = Counter(s.lower().replace(" ", ""))
                return counts.most_common(1)[0][0] if counts else None
            """),
            ("crash_on_empty", """
            from collections import Counter


            def most_common_char(s: str) -> str | None:
                return Counter(s.replace(" ", "")).most_common(1)[0][0]
            """),
            ("edge_case", """
            def most_common_char(s: str) -> str | None:
                counts: dict[str, int] = {}
                for ch in s:
                    if ch != " ":
                        counts[ch] = counts.get(ch, 0) + 1
                best = None
                for ch, n in counts.items():
                    if best is None or n >= counts[best]:
                        best = ch
                return best
            """),
        ],
        [
            (["hello"], "l"), ([""], None), (["   "], None), (["abcab"], "a"), (["ba"], "b"),
            (["a b b"], "b"), (["aAA"], "A"), (["zyz y"], "z"), (["xyzzy"], "y"), (["  ab"], "a"),
        ],
        [[""], [" "], ["x"], ["Aa"], ["a  a b"]]
        + sample("most_common_char", lambda r: ["".join(r.choice("aabBc  d") for _ in range(r.randint(0, 9)))]),
    ),
    task(
        "flatten_dict", "test",
        "def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:",
        """Flatten nested dicts into one level, joining nested keys with '.'.

        Values that are not dicts are kept as they are (lists are not flattened). A nested
        empty dict contributes no keys at all.
        """,
        """
        from typing import Any


        def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in d.items():
                if isinstance(value, dict):
                    for sub, inner in flatten_dict(value).items():
                        out[f"{key}.{sub}"] = inner
                else:
                    out[key] = value
            return out
        """,
        [
            """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                flat: dict[str, Any] = {}

                def walk(node: dict[str, Any], prefix: str) -> None:
                    for k, v in node.items():
                        name = f"{prefix}.{k}" if prefix else k
                        if isinstance(v, dict):
                            walk(v, name)
                        else:
                            flat[name] = v

                walk(d, "")
                return flat
            """,
            """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                result: dict[str, Any] = {}
                stack: list[tuple[str, dict[str, Any]]] = [("", d)]
                while stack:
                    prefix, node = stack.pop()
                    for k, v in node.items():
                        key = prefix + k
                        if isinstance(v, dict):
                            stack.append((key + ".", v))
                        else:
                            result[key] = v
                return result
            """,
            """
            from collections.abc import Iterator
            from typing import Any


            def _items(d: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
                for k, v in d.items():
                    if isinstance(v, dict):
                        yield from _items(v, prefix + k + ".")
                    else:
                        yield prefix + k, v


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                return dict(_items(d))
            """,
        ],
        [
            ("edge_case", """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for key, value in d.items():
                    if isinstance(value, dict) and value:
                        for sub, inner in flatten_dict(value).items():
                            out[f"{key}.{sub}"] = inner
                    else:
                        out[key] = value
                return out
            """),
            ("partial", """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for key, value in d.items():
                    if isinstance(value, dict):
                        for sub, inner in value.items():
                            out[f"{key}.{sub}"] = inner
                    else:
                        out[key] = value
                return out
            """),
            ("misreading", """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}

                def walk(value: Any, name: str) -> None:
                    if isinstance(value, dict):
                        for k, v in value.items():
                            walk(v, f"{name}.{k}" if name else k)
                    elif isinstance(value, list):
                        for i, v in enumerate(value):
                            walk(v, f"{name}.{i}")
                    else:
                        out[name] = value

                walk(d, "")
                return out
            """),
            ("other", """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for key, value in d.items():
                    if isinstance(value, dict):
                        for sub, inner in flatten_dict(value).items():
                            out[f"{key}_{sub}"] = inner
                    else:
                        out[key] = value
                return out
            """),
            ("off_by_one", """
            from typing import Any


            def flatten_dict(d: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}

                def walk(node: dict[str, Any], prefix: str) -> None:
                    for k, v in node.items():
                        if isinstance(v, dict):
                            walk(v, prefix + "." + k)
                        else:
                            out[prefix + "." + k] = v

                walk(d, "")
                return out
            """),
        ],
        [
            ([{}], {}), ([{"a": 1}], {"a": 1}), ([{"a": {"b": 1, "c": {"d": 2}}}], {"a.b": 1, "a.c.d": 2}),
            ([{"a": {}}], {}), ([{"a": [1, {"b": 2}]}], {"a": [1, {"b": 2}]}),
            ([{"x": {"y": None}, "z": 0}], {"x.y": None, "z": 0}), ([{"a": {"b": {}}, "c": 1}], {"c": 1}),
            ([{"k": {"l": {"m": {"n": "deep"}}}}], {"k.l.m.n": "deep"}),
        ],
        [[{}], [{"a": {}}], [{"a": []}], [{"a": {"b": {"c": {}}}}]]
        + sample("flatten_dict", lambda r: [{
            k: r.choice([1, "s", None, [1, 2], {}, {"x": 1}, {"y": {"z": 2}}, {"w": {}}, {"l": [3]}])
            for k in r.sample("abcd", r.randint(0, 3))}]),
    ),
    task(
        "parse_query", "dev",
        "def parse_query(query: str) -> dict[str, list[str]]:",
        """Parse a URL query string like 'a=1&b=x+y&a=2'.

        Return a dict mapping each key to the list of its values, in order of appearance.
        '+' stands for a space; there are no %XX escapes. A part without '=' has the value
        ''. Empty parts (from '&&' or a leading or trailing '&') are skipped. A leading '?'
        is ignored. Only the first '=' of a part separates key and value.
        """,
        """
        def parse_query(query: str) -> dict[str, list[str]]:
            if query.startswith("?"):
                query = query[1:]
            out: dict[str, list[str]] = {}
            for part in query.split("&"):
                if not part:
                    continue
                key, _, value = part.partition("=")
                out.setdefault(key.replace("+", " "), []).append(value.replace("+", " "))
            return out
        """,
        [
            """
            from collections import defaultdict


            def parse_query(query: str) -> dict[str, list[str]]:
                result: defaultdict[str, list[str]] = defaultdict(list)
                for part in query.removeprefix("?").split("&"):
                    if part:
                        pieces = part.replace("+", " ").split("=", 1)
                        result[pieces[0]].append(pieces[1] if len(pieces) > 1 else "")
                return dict(result)
            """,
            """
            def parse_query(query: str) -> dict[str, list[str]]:
                q = query[1:] if query[:1] == "?" else query
                params: dict[str, list[str]] = {}
                for item in filter(None, q.split("&")):
                    if "=" in item:
                        k, v = item.split("=", 1)
                    else:
                        k, v = item, ""
                    k, v = k.replace("+", " "), v.replace("+", " ")
                    if k in params:
                        params[k].append(v)
                    else:
                        params[k] = [v]
                return params
            """,
            """
            from urllib.parse import parse_qsl


            def parse_query(query: str) -> dict[str, list[str]]:
                out: dict[str, list[str]] = {}
                for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
                    out.setdefault(key, []).append(value)
                return out
            """,
        ],
        [
            ("misreading", """
            def parse_query(query: str) -> dict[str, list[str]]:
                if query.startswith("?"):
                    query = query[1:]
                out = {}
                for part in query.split("&"):
                    if part:
                        key, _, value = part.partition("=")
                        out[key.replace("+", " ")] = value.replace("+", " ")
                return out
            """),
            ("partial", """
            def parse_query(query: str) -> dict[str, list[str]]:
                if query.startswith("?"):
                    query = query[1:]
                out: dict[str, list[str]] = {}
                for part in query.split("&"):
                    if part:
                        key, _, value = part.partition("=")
                        out.setdefault(key, []).append(value)
                return out
            """),
            ("edge_case", """
            def parse_query(query: str) -> dict[str, list[str]]:
                if query.startswith("?"):
                    query = query[1:]
                out: dict[str, list[str]] = {}
                for part in query.split("&"):
                    if part:
                        key, value = part.split("=", 1)
                        out.setdefault(key.replace("+", " "), []).append(value.replace("+", " "))
                return out
            """),
            ("edge_case", """
            def parse_query(query: str) -> dict[str, list[str]]:
                out: dict[str, list[str]] = {}
                for part in query.split("&"):
                    if part:
                        key, _, value = part.partition("=")
                        out.setdefault(key.replace("+", " "), []).append(value.replace("+", " "))
                return out
            """),
            ("other", """
            from urllib.parse import parse_qs


            def parse_query(query: str) -> dict[str, list[str]]:
                return parse_qs(query.lstrip("?"))
            """),
        ],
        [
            (["a=1&b=2"], {"a": ["1"], "b": ["2"]}), ([""], {}), (["?x=1"], {"x": ["1"]}),
            (["a=1&a=2"], {"a": ["1", "2"]}), (["q=hello+world"], {"q": ["hello world"]}),
            (["flag&k=v"], {"flag": [""], "k": ["v"]}), (["a=&&b=3&"], {"a": [""], "b": ["3"]}),
            (["e=x=y"], {"e": ["x=y"]}), (["?"], {}),
        ],
        [[""], ["?"], ["&"], ["a"], ["a=b+c"], ["?a=1&a="]]
        + sample("parse_query", lambda r: [r.choice(["", "?"]) + "&".join(
            r.choice(["a=1", "b=x+y", "a=2", "flag", "", "c=", "k=v=w", "n+m=1"])
            for _ in range(r.randint(1, 4)))]),
    ),
    task(
        "valid_ipv4", "test",
        "def valid_ipv4(s: str) -> bool:",
        """Return True if s is a dotted-quad IPv4 address.

        That is exactly four fields separated by '.', each made only of ASCII digits, each in
        0..255, and none with a leading zero (the field '0' itself is fine, '01' is not).
        No spaces or signs are allowed anywhere.
        """,
        """
        def valid_ipv4(s: str) -> bool:
            parts = s.split(".")
            if len(parts) != 4:
                return False
            for part in parts:
                if not part or any(c not in "0123456789" for c in part):
                    return False
                if len(part) > 1 and part[0] == "0":
                    return False
                if int(part) > 255:
                    return False
            return True
        """,
        [
            """
            import re

            _FIELD = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"


            def valid_ipv4(s: str) -> bool:
                return re.fullmatch(r"\\.".join([_FIELD] * 4), s, flags=re.ASCII) is not None
            """,
            """
            import ipaddress


            def valid_ipv4(s: str) -> bool:
                try:
                    ipaddress.IPv4Address(s)
                except ValueError:
                    return False
                return s.isascii() and s.count(".") == 3
            """,
            """
            def valid_ipv4(s: str) -> bool:
                fields = s.split(".")
                return len(fields) == 4 and all(
                    f.isascii() and f.isdigit() and str(int(f)) == f and int(f) <= 255 for f in fields
                )
            """,
        ],
        [
            ("misreading", """
            def valid_ipv4(s: str) -> bool:
                parts = s.split(".")
                if len(parts) != 4:
                    return False
                return all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts)
            """),
            ("off_by_one", """
            def valid_ipv4(s: str) -> bool:
                parts = s.split(".")
                if len(parts) != 4:
                    return False
                for p in parts:
                    if not (p.isascii() and p.isdigit()) or (len(p) > 1 and p[0] == "0"):
                        return False
                    if not 0 <= int(p) < 255:
                        return False
                return True
            """),
            ("edge_case", """
            def valid_ipv4(s: str) -> bool:
                parts = s.split(".")
                if len(parts) != 4:
                    return False
                for p in parts:
                    try:
                        value = int(p)
                    except ValueError:
                        return False
                    if value < 0 or value > 255 or (len(p) > 1 and p[0] == "0"):
                        return False
                return True
            """),
            ("crash_on_empty", """
            def valid_ipv4(s: str) -> bool:
                parts = s.split(".")
                if len(parts) != 4:
                    return False
                for p in parts:
                    if p[0] == "0" and len(p) > 1:
                        return False
                    if not p.isdigit() or int(p) > 255:
                        return False
                return True
            """),
            ("partial", """
            def valid_ipv4(s: str) -> bool:
                for p in s.split("."):
                    if not p.isdigit() or int(p) > 255 or (len(p) > 1 and p[0] == "0"):
                        return False
                return True
            """),
            ("edge_case", """
            def valid_ipv4(s: str) -> bool:
                parts = s.split(".")
                return len(parts) == 4 and all(
                    p.isdigit() and int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts
                )
            """),
        ],
        [
            (["192.168.0.1"], True), (["255.255.255.255"], True), (["0.0.0.0"], True), (["256.1.1.1"], False),
            (["01.2.3.4"], False), (["1.2.3"], False), (["1.2.3.4.5"], False), (["1..2.3"], False),
            (["+1.2.3.4"], False), (["1.2.3.\u0664"], False), ([""], False), (["1.2.3.04"], False),
        ],
        [[""], ["0.0.0.0"], ["1.2.3.4 "], ["a.b.c.d"], ["10.0.0.255"], ["300.1.1.1"], [" 1.2.3.4"]]
        + sample("valid_ipv4", lambda r: [".".join(
            r.choice(["0", "1", "10", "99", "255", "256", "01", "", "-1", "300", "7", "192"])
            for _ in range(r.choice([3, 4, 4, 4, 4, 5])))]),
    ),
]
