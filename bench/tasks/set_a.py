"""Tasks A: lists and strings."""

from ._helpers import sample, task

_WORDS = ["the", "cat", "dog", "The", "hat", "and", "Dog", "don't", "a", "bird", "cat,", "it's"]
_SMALL = ["a", "an", "and", "the", "of", "in", "on", "The", "AND", "Of"]
_BIG = ["lord", "rings", "war", "peace", "NASA", "o'neil", "x2y", "hello", "World", "tale"]

TASKS = [
    task(
        "running_max", "dev",
        "def running_max(xs: list[int]) -> list[int]:",
        """Return the running maximum of xs.

        Element i of the result is the largest of xs[0], ..., xs[i]. An empty list gives [].
        """,
        """
        def running_max(xs: list[int]) -> list[int]:
            out: list[int] = []
            for x in xs:
                out.append(x if not out else max(out[-1], x))
            return out
        """,
        [
            """
            from itertools import accumulate


            def running_max(xs: list[int]) -> list[int]:
                return list(accumulate(xs, max))
            """,
            """
            def running_max(xs: list[int]) -> list[int]:
                return [max(xs[: i + 1]) for i in range(len(xs))]
            """,
            """
            def running_max(xs: list[int]) -> list[int]:
                result: list[int] = []
                for i, value in enumerate(xs):
                    if i == 0 or value > result[-1]:
                        result.append(value)
                    else:
                        result.append(result[-1])
                return result
            """,
        ],
        [
            ("edge_case", """
            def running_max(xs: list[int]) -> list[int]:
                out = []
                best = 0
                for x in xs:
                    best = max(best, x)
                    out.append(best)
                return out
            """),
            ("crash_on_empty", """
            def running_max(xs: list[int]) -> list[int]:
                best = xs[0]
                out = []
                for x in xs:
                    if x > best:
                        best = x
                    out.append(best)
                return out
            """),
            ("misreading", """
            def running_max(xs: list[int]) -> list[int]:
                records: list[int] = []
                for x in xs:
                    if not records or x > records[-1]:
                        records.append(x)
                return records
            """),
            ("off_by_one", """
            def running_max(xs: list[int]) -> list[int]:
                return [max(xs[:i]) if i else xs[0] for i in range(len(xs))]
            """),
            ("wrong_type", """
            from itertools import accumulate


            def running_max(xs: list[int]) -> list[int]:
                return tuple(accumulate(xs, max))
            """),
        ],
        [
            ([[]], []), ([[5]], [5]), ([[1, 3, 2, 5, 4]], [1, 3, 3, 5, 5]),
            ([[-3, -1, -2]], [-3, -1, -1]), ([[-5, -7]], [-5, -5]), ([[2, 2, 2]], [2, 2, 2]),
            ([[5, 4, 3]], [5, 5, 5]), ([[0, -1, 3]], [0, 0, 3]), ([[1, 2, 3]], [1, 2, 3]),
        ],
        [[[]], [[7]], [[-1, -2, -3]], [[0]], [[4, 4]]]
        + sample("running_max", lambda r: [[r.randint(-20, 20) for _ in range(r.randint(0, 10))]]),
    ),
    task(
        "chunk_list", "test",
        "def chunk_list(xs: list[int], size: int) -> list[list[int]]:",
        """Split xs into consecutive chunks of length size (size >= 1).

        The last chunk holds what is left over and may be shorter; it is never padded.
        An empty list gives [].
        """,
        """
        def chunk_list(xs: list[int], size: int) -> list[list[int]]:
            return [xs[i : i + size] for i in range(0, len(xs), size)]
        """,
        [
            """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                chunks: list[list[int]] = []
                for i, x in enumerate(xs):
                    if i % size == 0:
                        chunks.append([])
                    chunks[-1].append(x)
                return chunks
            """,
            """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                out = []
                rest = list(xs)
                while rest:
                    out.append(rest[:size])
                    rest = rest[size:]
                return out
            """,
            """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                result: list[list[int]] = []
                current: list[int] = []
                for value in xs:
                    current.append(value)
                    if len(current) == size:
                        result.append(current)
                        current = []
                if current:
                    result.append(current)
                return result
            """,
        ],
        [
            ("misreading", """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                return [xs[i : i + size] for i in range(0, len(xs) - size + 1, size)]
            """),
            ("misreading", """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                chunks = [xs[i : i + size] for i in range(0, len(xs), size)]
                if chunks and len(chunks[-1]) < size:
                    chunks[-1] = chunks[-1] + [0] * (size - len(chunks[-1]))
                return chunks
            """),
            ("off_by_one", """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                return [xs[i : i + size] for i in range(0, len(xs) - 1, size)]
            """),
            ("edge_case", """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                chunks: list[list[int]] = [[]]
                for x in xs:
                    if len(chunks[-1]) == size:
                        chunks.append([])
                    chunks[-1].append(x)
                return chunks
            """),
            ("misreading", """
            def chunk_list(xs: list[int], size: int) -> list[list[int]]:
                step = -(-len(xs) // size) or 1
                return [xs[i : i + step] for i in range(0, len(xs), step)]
            """),
        ],
        [
            ([[1, 2, 3, 4, 5], 2], [[1, 2], [3, 4], [5]]), ([[1, 2, 3, 4], 2], [[1, 2], [3, 4]]),
            ([[], 3], []), ([[1, 2], 5], [[1, 2]]), ([[1, 2, 3], 1], [[1], [2], [3]]),
            ([[1, 2, 3, 4, 5, 6, 7], 3], [[1, 2, 3], [4, 5, 6], [7]]), ([[9], 1], [[9]]),
            ([[1, 2, 3, 4, 5, 6], 3], [[1, 2, 3], [4, 5, 6]]), ([[0, 0, 0], 2], [[0, 0], [0]]),
        ],
        [[[], 1], [[], 4], [[1], 1], [[1, 2, 3], 3], [[5, 6], 3]]
        + sample("chunk_list", lambda r: [[r.randint(0, 9) for _ in range(r.randint(0, 11))],
                                          r.randint(1, 5)]),
    ),
    task(
        "rle_encode", "dev",
        "def rle_encode(s: str) -> list[tuple[str, int]]:",
        """Run-length encode s.

        Return one (character, count) pair per maximal run of equal consecutive characters,
        in order. Comparison is case-sensitive and every character counts, whitespace and
        newlines included. An empty string gives [].
        """,
        """
        def rle_encode(s: str) -> list[tuple[str, int]]:
            runs: list[tuple[str, int]] = []
            for ch in s:
                if runs and runs[-1][0] == ch:
                    runs[-1] = (ch, runs[-1][1] + 1)
                else:
                    runs.append((ch, 1))
            return runs
        """,
        [
            """
            from itertools import groupby


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return [(ch, len(list(group))) for ch, group in groupby(s)]
            """,
            """
            def rle_encode(s: str) -> list[tuple[str, int]]:
                out = []
                i = 0
                while i < len(s):
                    j = i
                    while j < len(s) and s[j] == s[i]:
                        j += 1
                    out.append((s[i], j - i))
                    i = j
                return out
            """,
            """
            import re


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return [(m.group(1), len(m.group(0))) for m in re.finditer(r"(.)\\1*", s, re.S)]
            """,
        ],
        [
            ("off_by_one", """
            def rle_encode(s: str) -> list[tuple[str, int]]:
                out = []
                prev, count = "", 0
                for ch in s:
                    if ch == prev:
                        count += 1
                    else:
                        if prev:
                            out.append((prev, count))
                        prev, count = ch, 1
                return out
            """),
            ("crash_on_empty", """
            def rle_encode(s: str) -> list[tuple[str, int]]:
                out = []
                prev, count = s[0], 0
                for ch in s:
                    if ch == prev:
                        count += 1
                    else:
                        out.append((prev, count))
                        prev, count = ch, 1
                out.append((prev, count))
                return out
            """),
            ("misreading", """
            from collections import Counter


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return list(Counter(s).items())
            """),
            ("misreading", """
            from itertools import groupby


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return [(ch, len(list(g))) for ch, g in groupby(s, key=str.lower)]
            """),
            ("wrong_type", """
            from itertools import groupby


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return [[ch, len(list(g))] for ch, g in groupby(s)]
            """),
            ("edge_case", """
            import re


            def rle_encode(s: str) -> list[tuple[str, int]]:
                return [(m.group(1), len(m.group(0))) for m in re.finditer(r"(.)\\1*", s)]
            """),
        ],
        [
            ([""], []), (["a"], [("a", 1)]), (["aaabcc"], [("a", 3), ("b", 1), ("c", 2)]),
            (["abab"], [("a", 1), ("b", 1), ("a", 1), ("b", 1)]),
            (["aAa"], [("a", 1), ("A", 1), ("a", 1)]), (["x\n\ny"], [("x", 1), ("\n", 2), ("y", 1)]),
            (["zzzz"], [("z", 4)]), (["  a"], [(" ", 2), ("a", 1)]),
        ],
        [[""], ["q"], ["AAaa"], ["\n"], ["abcabc"]]
        + sample("rle_encode", lambda r: ["".join(r.choice("aaabbcA \n") for _ in range(r.randint(0, 12)))]),
    ),
    task(
        "top_k_words", "test",
        "def top_k_words(text: str, k: int) -> list[str]:",
        """Return the k most frequent words of text, most frequent first.

        A word is a maximal run of ASCII letters and apostrophes. Words are compared
        case-insensitively and returned lower-cased. Ties are broken alphabetically.
        If there are fewer than k distinct words, return them all. k >= 0.
        """,
        """
        import re
        from collections import Counter


        def top_k_words(text: str, k: int) -> list[str]:
            counts = Counter(w.lower() for w in re.findall(r"[A-Za-z']+", text))
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            return [word for word, _ in ranked[:k]]
        """,
        [
            """
            import re


            def top_k_words(text: str, k: int) -> list[str]:
                counts: dict[str, int] = {}
                for word in re.findall(r"[A-Za-z']+", text.lower()):
                    counts[word] = counts.get(word, 0) + 1
                return sorted(counts, key=lambda w: (-counts[w], w))[:k]
            """,
            """
            import heapq
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(re.findall(r"[a-z']+", text.lower()))
                return heapq.nsmallest(k, counts, key=lambda w: (-counts[w], w))
            """,
            """
            import re
            from collections import defaultdict


            def top_k_words(text: str, k: int) -> list[str]:
                freq: defaultdict[str, int] = defaultdict(int)
                for match in re.finditer(r"[A-Za-z']+", text):
                    freq[match.group().lower()] += 1
                ordered = sorted(freq.items(), key=lambda item: item[0])
                ordered.sort(key=lambda item: item[1], reverse=True)
                return [w for w, _ in ordered][:k]
            """,
        ],
        [
            ("misreading", """
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(w.lower() for w in re.findall(r"[A-Za-z']+", text))
                return [word for word, _ in counts.most_common(k)]
            """),
            ("partial", """
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(re.findall(r"[A-Za-z']+", text))
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                return [word for word, _ in ranked[:k]]
            """),
            ("misreading", """
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(text.lower().split())
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                return [word for word, _ in ranked[:k]]
            """),
            ("other", """
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(w.lower() for w in re.findall(r"[A-Za-z']+", text))
                ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
                return [word for word, _ in ranked[:k]]
            """),
            ("edge_case", """
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(w.lower() for w in re.findall(r"[A-Za-z]+", text))
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                return [word for word, _ in ranked[:k]]
            """),
            ("wrong_type", """
            import re
            from collections import Counter


            def top_k_words(text: str, k: int) -> list[str]:
                counts = Counter(w.lower() for w in re.findall(r"[A-Za-z']+", text))
                return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
            """),
        ],
        [
            (["the cat and the hat", 2], ["the", "and"]), (["b a c b a", 2], ["a", "b"]),
            (["The the THE cat", 1], ["the"]), (["Don't stop, don't!", 2], ["don't", "stop"]),
            (["", 3], []), (["one two", 5], ["one", "two"]), (["x y z", 0], []),
            (["cat, dog. cat; bird dog cat", 3], ["cat", "dog", "bird"]),
            (["apple Apple banana", 2], ["apple", "banana"]),
        ],
        [["", 0], ["", 2], ["word", 1], ["a A a", 3], ["it's its it's", 2]]
        + sample("top_k_words", lambda r: [
            " ".join(r.choice(_WORDS) for _ in range(r.randint(0, 9))) + r.choice(["", ".", "!"]),
            r.randint(0, 4)]),
    ),
    task(
        "is_balanced", "dev",
        "def is_balanced(s: str) -> bool:",
        """Return True if the brackets (), [] and {} in s are balanced and properly nested.

        Every other character is ignored. The empty string is balanced.
        """,
        """
        def is_balanced(s: str) -> bool:
            pairs = {")": "(", "]": "[", "}": "{"}
            stack: list[str] = []
            for ch in s:
                if ch in "([{":
                    stack.append(ch)
                elif ch in pairs:
                    if not stack or stack.pop() != pairs[ch]:
                        return False
            return not stack
        """,
        [
            """
            def is_balanced(s: str) -> bool:
                t = "".join(c for c in s if c in "()[]{}")
                while True:
                    shorter = t.replace("()", "").replace("[]", "").replace("{}", "")
                    if shorter == t:
                        return t == ""
                    t = shorter
            """,
            """
            def is_balanced(s: str) -> bool:
                closing = {"(": ")", "[": "]", "{": "}"}
                expected: list[str] = []
                for ch in s:
                    if ch in closing:
                        expected.append(closing[ch])
                    elif ch in ")]}":
                        if not expected or expected[-1] != ch:
                            return False
                        expected.pop()
                return len(expected) == 0
            """,
            """
            def is_balanced(s: str) -> bool:
                stack = []
                for ch in s:
                    if ch == "(" or ch == "[" or ch == "{":
                        stack.append(ch)
                    elif ch == ")" or ch == "]" or ch == "}":
                        if not stack:
                            return False
                        top = stack.pop()
                        if (top, ch) not in {("(", ")"), ("[", "]"), ("{", "}")}:
                            return False
                return stack == []
            """,
        ],
        [
            ("partial", """
            def is_balanced(s: str) -> bool:
                return all(s.count(a) == s.count(b) for a, b in ("()", "[]", "{}"))
            """),
            ("misreading", """
            def is_balanced(s: str) -> bool:
                depth = 0
                for ch in s:
                    if ch in "([{":
                        depth += 1
                    elif ch in ")]}":
                        depth -= 1
                        if depth < 0:
                            return False
                return depth == 0
            """),
            ("edge_case", """
            def is_balanced(s: str) -> bool:
                pairs = {")": "(", "]": "[", "}": "{"}
                stack: list[str] = []
                for ch in s:
                    if ch in "([{":
                        stack.append(ch)
                    elif ch in pairs:
                        if not stack or stack.pop() != pairs[ch]:
                            return False
                return True
            """),
            ("crash_on_empty", """
            def is_balanced(s: str) -> bool:
                pairs = {")": "(", "]": "[", "}": "{"}
                stack: list[str] = []
                for ch in s:
                    if ch in "([{":
                        stack.append(ch)
                    elif ch in pairs and stack.pop() != pairs[ch]:
                        return False
                return not stack
            """),
            ("partial", """
            def is_balanced(s: str) -> bool:
                depth = {"(": 0, "[": 0, "{": 0}
                match = {")": "(", "]": "[", "}": "{"}
                for ch in s:
                    if ch in depth:
                        depth[ch] += 1
                    elif ch in match:
                        depth[match[ch]] -= 1
                        if depth[match[ch]] < 0:
                            return False
                return all(v == 0 for v in depth.values())
            """),
        ],
        [
            ([""], True), (["()[]{}"], True), (["([{}])"], True), (["([)]"], False),
            (["(("], False), ([")("], False), (["(]"], False), (["a(b)c[d]{e}"], True),
            ([")"], False), (["{[()()]}x"], True), (["]"], False),
        ],
        [[""], ["x"], ["{"], ["}"], ["([]{})"], ["[(])"]]
        + sample("is_balanced", lambda r: ["".join(r.choice("()[]{}()a") for _ in range(r.randint(0, 8)))])
        + sample("is_balanced2", lambda r: [r.choice(["", "a", "(x)"]) + r.choice(["[]", "{()}", "([])", "{[}]"])
                                            + r.choice(["", ")", "(", "b"])], 12),
    ),
    task(
        "title_case", "test",
        "def title_case(s: str) -> str:",
        """Title-case s, keeping its spacing exactly as given.

        Words are separated by one or more spaces; s has no leading space and '' gives ''.
        Each word is written with its first character upper-cased and the rest lower-cased,
        except the small words a, an, and, the, of, in, on, which are written all lower-case
        unless they are the first word. Only the first character of a word is upper-cased,
        so "o'neil" becomes "O'neil".
        """,
        """
        SMALL = {"a", "an", "and", "the", "of", "in", "on"}


        def title_case(s: str) -> str:
            out = []
            for i, word in enumerate(s.split(" ")):
                lower = word.lower()
                if i > 0 and lower in SMALL:
                    out.append(lower)
                else:
                    out.append(lower[:1].upper() + lower[1:])
            return " ".join(out)
        """,
        [
            """
            import re

            SMALL_WORDS = frozenset({"a", "an", "and", "the", "of", "in", "on"})


            def title_case(s: str) -> str:
                def fix(m: re.Match[str]) -> str:
                    word = m.group(0).lower()
                    if m.start() > 0 and word in SMALL_WORDS:
                        return word
                    return word[0].upper() + word[1:]

                return re.sub(r"[^ ]+", fix, s)
            """,
            """
            def title_case(s: str) -> str:
                small = ("a", "an", "and", "the", "of", "in", "on")
                words = s.split(" ")
                return " ".join(
                    w.lower() if i and w.lower() in small else w.capitalize()
                    for i, w in enumerate(words)
                )
            """,
            """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                result = []
                first = True
                for part in s.split(" "):
                    if part:
                        low = part.lower()
                        if not first and low in SMALL:
                            result.append(low)
                        else:
                            result.append(low[0].upper() + low[1:])
                        first = False
                    else:
                        result.append(part)
                return " ".join(result)
            """,
        ],
        [
            ("misreading", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                words = s.split(" ")
                return " ".join(
                    w.lower() if i > 0 and w.lower() in SMALL else w.title()
                    for i, w in enumerate(words)
                )
            """),
            ("edge_case", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                return " ".join(
                    w.lower() if w.lower() in SMALL else w.capitalize() for w in s.split(" ")
                )
            """),
            ("edge_case", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                words = s.split()
                return " ".join(
                    w.lower() if i > 0 and w.lower() in SMALL else w.capitalize()
                    for i, w in enumerate(words)
                )
            """),
            ("misreading", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                out = []
                for i, word in enumerate(s.split(" ")):
                    if i > 0 and word.lower() in SMALL:
                        out.append(word.lower())
                    else:
                        out.append(word[:1].upper() + word[1:])
                return " ".join(out)
            """),
            ("partial", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                out = []
                for i, word in enumerate(s.split(" ")):
                    if i > 0 and word in SMALL:
                        out.append(word)
                    else:
                        out.append(word[:1].upper() + word[1:].lower())
                return " ".join(out)
            """),
            ("crash_on_empty", """
            SMALL = {"a", "an", "and", "the", "of", "in", "on"}


            def title_case(s: str) -> str:
                out = []
                for i, word in enumerate(s.split(" ")):
                    low = word.lower()
                    out.append(low if i and low in SMALL else low[0].upper() + low[1:])
                return " ".join(out)
            """),
        ],
        [
            ([""], ""), (["the lord of the rings"], "The Lord of the Rings"),
            (["war AND peace"], "War and Peace"), (["o'neil of ireland"], "O'neil of Ireland"),
            (["a  tale"], "A  Tale"), (["NASA in space"], "Nasa in Space"), (["x"], "X"),
            (["on and on"], "On and on"), (["hello world"], "Hello World"),
        ],
        [[""], ["a"], ["THE END"], ["of  mice"], ["x2y"]]
        + sample("title_case", lambda r: ["".join(
            (r.choice(_BIG if i == 0 else _SMALL + _BIG) + r.choice([" ", " ", " ", "  "]))
            for i in range(r.randint(1, 5))).rstrip()]),
    ),
    task(
        "merge_intervals", "dev",
        "def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:",
        """Merge overlapping closed intervals.

        Each interval is a (start, end) pair with start <= end; the input may be in any order.
        Intervals that overlap or touch (one ends exactly where the next starts) are merged.
        Return the merged intervals as (start, end) tuples sorted by start.
        """,
        """
        def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
            merged: list[tuple[int, int]] = []
            for start, end in sorted(intervals):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            return merged
        """,
        [
            """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                spans: list[list[int]] = []
                for lo, hi in sorted(intervals, key=lambda iv: iv[0]):
                    if spans and lo <= spans[-1][1]:
                        spans[-1][1] = max(spans[-1][1], hi)
                    else:
                        spans.append([lo, hi])
                return [(lo, hi) for lo, hi in spans]
            """,
            """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                ordered = sorted(intervals)
                out = []
                i = 0
                while i < len(ordered):
                    start, end = ordered[i]
                    j = i + 1
                    while j < len(ordered) and ordered[j][0] <= end:
                        end = max(end, ordered[j][1])
                        j += 1
                    out.append((start, end))
                    i = j
                return out
            """,
            """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                if not intervals:
                    return []
                ivs = sorted(intervals)
                result = [ivs[0]]
                for cur in ivs[1:]:
                    last = result[-1]
                    if cur[0] > last[1]:
                        result.append(cur)
                    elif cur[1] > last[1]:
                        result[-1] = (last[0], cur[1])
                return result
            """,
        ],
        [
            ("edge_case", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                merged: list[tuple[int, int]] = []
                for start, end in intervals:
                    if merged and start <= merged[-1][1]:
                        merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                    else:
                        merged.append((start, end))
                return merged
            """),
            ("misreading", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                merged: list[tuple[int, int]] = []
                for start, end in sorted(intervals):
                    if merged and start < merged[-1][1]:
                        merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                    else:
                        merged.append((start, end))
                return merged
            """),
            ("partial", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                merged: list[tuple[int, int]] = []
                for start, end in sorted(intervals):
                    if merged and start <= merged[-1][1]:
                        merged[-1] = (merged[-1][0], end)
                    else:
                        merged.append((start, end))
                return merged
            """),
            ("misreading", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                merged: list[tuple[int, int]] = []
                for start, end in sorted(intervals):
                    if merged and start <= merged[-1][1] + 1:
                        merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                    else:
                        merged.append((start, end))
                return merged
            """),
            ("wrong_type", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                merged = []
                for start, end in sorted(intervals):
                    if merged and start <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], end)
                    else:
                        merged.append([start, end])
                return merged
            """),
            ("crash_on_empty", """
            def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                ivs = sorted(intervals)
                merged = [ivs[0]]
                for start, end in ivs[1:]:
                    if start <= merged[-1][1]:
                        merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                    else:
                        merged.append((start, end))
                return merged
            """),
        ],
        [
            ([[]], []), ([[(1, 3), (2, 6), (8, 10)]], [(1, 6), (8, 10)]), ([[(1, 2), (2, 3)]], [(1, 3)]),
            ([[(5, 6), (1, 2)]], [(1, 2), (5, 6)]), ([[(1, 10), (2, 3), (4, 5)]], [(1, 10)]),
            ([[(1, 2), (3, 4)]], [(1, 2), (3, 4)]), ([[(4, 4)]], [(4, 4)]),
            ([[(3, 5), (1, 4), (0, 0)]], [(0, 0), (1, 5)]), ([[(-3, -1), (-1, 0)]], [(-3, 0)]),
        ],
        [[[]], [[(0, 0)]], [[(1, 5), (2, 3)]], [[(6, 7), (1, 2)]], [[(1, 2), (3, 4), (2, 3)]]]
        + sample("merge_intervals", lambda r: [[
            (a, a + r.randint(0, 4)) for a in (r.randint(-5, 15) for _ in range(r.randint(0, 6)))]]),
    ),
    task(
        "rotate_right", "test",
        "def rotate_right(xs: list[int], k: int) -> list[int]:",
        """Return xs rotated right by k positions: the last k elements move to the front.

        k may be negative (rotate left) or larger than len(xs). An empty list gives [].
        xs itself is not modified.
        """,
        """
        def rotate_right(xs: list[int], k: int) -> list[int]:
            if not xs:
                return []
            k %= len(xs)
            return xs[len(xs) - k :] + xs[: len(xs) - k]
        """,
        [
            """
            from collections import deque


            def rotate_right(xs: list[int], k: int) -> list[int]:
                d = deque(xs)
                d.rotate(k)
                return list(d)
            """,
            """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                n = len(xs)
                return [xs[(i - k) % n] for i in range(n)]
            """,
            """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                n = len(xs)
                if n == 0:
                    return []
                shift = k % n
                if shift == 0:
                    return list(xs)
                return xs[-shift:] + xs[:-shift]
            """,
        ],
        [
            ("misreading", """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                if not xs:
                    return []
                k %= len(xs)
                return xs[k:] + xs[:k]
            """),
            ("crash_on_empty", """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                k = k % len(xs)
                return xs[len(xs) - k :] + xs[: len(xs) - k]
            """),
            ("edge_case", """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                return xs[-k:] + xs[:-k]
            """),
            ("edge_case", """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                if not xs:
                    return []
                k = abs(k) % len(xs)
                return xs[len(xs) - k :] + xs[: len(xs) - k]
            """),
            ("partial", """
            def rotate_right(xs: list[int], k: int) -> list[int]:
                out = list(xs)
                for _ in range(k):
                    out.insert(0, out.pop())
                return out
            """),
        ],
        [
            ([[1, 2, 3, 4, 5], 2], [4, 5, 1, 2, 3]), ([[1, 2, 3], 0], [1, 2, 3]), ([[], 3], []),
            ([[1, 2, 3], -1], [2, 3, 1]), ([[1, 2, 3], 4], [3, 1, 2]), ([[1, 2], 7], [2, 1]),
            ([[7], -5], [7]), ([[1, 2, 3, 4], -6], [3, 4, 1, 2]), ([[1, 2, 3, 4], 4], [1, 2, 3, 4]),
        ],
        [[[], 0], [[], -2], [[5], 3], [[1, 2, 3], 3], [[1, 2, 3], -3]]
        + sample("rotate_right", lambda r: [[r.randint(0, 9) for _ in range(r.randint(0, 7))],
                                            r.randint(-9, 9)]),
    ),
    task(
        "second_largest", "dev",
        "def second_largest(xs: list[int]) -> int | None:",
        """Return the second-largest distinct value in xs.

        Return None when xs has fewer than two distinct values.
        """,
        """
        def second_largest(xs: list[int]) -> int | None:
            values = sorted(set(xs))
            return values[-2] if len(values) >= 2 else None
        """,
        [
            """
            def second_largest(xs: list[int]) -> int | None:
                first: int | None = None
                second: int | None = None
                for x in xs:
                    if first is None or x > first:
                        first, second = x, first
                    elif x != first and (second is None or x > second):
                        second = x
                return second
            """,
            """
            import heapq


            def second_largest(xs: list[int]) -> int | None:
                top = heapq.nlargest(2, set(xs))
                return top[1] if len(top) == 2 else None
            """,
            """
            def second_largest(xs: list[int]) -> int | None:
                distinct = set(xs)
                if len(distinct) < 2:
                    return None
                distinct.discard(max(distinct))
                return max(distinct)
            """,
        ],
        [
            ("misreading", """
            def second_largest(xs: list[int]) -> int | None:
                if len(xs) < 2:
                    return None
                return sorted(xs)[-2]
            """),
            ("edge_case", """
            def second_largest(xs: list[int]) -> int | None:
                if len(set(xs)) < 2:
                    return None
                first = second = 0
                for x in xs:
                    if x > first:
                        first, second = x, first
                    elif first > x > second:
                        second = x
                return second
            """),
            ("crash_on_empty", """
            def second_largest(xs: list[int]) -> int | None:
                top = max(xs)
                rest = [x for x in xs if x != top]
                return max(rest) if rest else None
            """),
            ("partial", """
            def second_largest(xs: list[int]) -> int | None:
                first: int | None = None
                second: int | None = None
                for x in xs:
                    if first is None or x > first:
                        first, second = x, first
                    elif second is None or x > second:
                        second = x
                return second
            """),
            ("off_by_one", """
            def second_largest(xs: list[int]) -> int | None:
                values = sorted(set(xs))
                if not values:
                    return None
                return values[1] if len(values) > 1 else None
            """),
        ],
        [
            ([[]], None), ([[4]], None), ([[3, 3, 3]], None), ([[1, 2, 3]], 2), ([[5, 5, 3]], 3),
            ([[-5, -3]], -5), ([[2, 8, 8, 1, 7]], 7), ([[10, 9]], 9), ([[0, -1, 4, 4]], 0),
        ],
        [[[]], [[1]], [[2, 2]], [[-1, -1, -2]], [[1, 2]]]
        + sample("second_largest", lambda r: [[r.randint(-6, 9) for _ in range(r.randint(0, 7))]]),
    ),
    task(
        "caesar_shift", "test",
        "def caesar_shift(s: str, k: int) -> str:",
        """Shift every ASCII letter of s by k places in the alphabet, wrapping around.

        Letters keep their case; k may be negative or larger than 26. Every other character
        (digits, punctuation, spaces, non-ASCII letters) is left unchanged.
        """,
        """
        def caesar_shift(s: str, k: int) -> str:
            out = []
            for ch in s:
                if "a" <= ch <= "z":
                    out.append(chr((ord(ch) - ord("a") + k) % 26 + ord("a")))
                elif "A" <= ch <= "Z":
                    out.append(chr((ord(ch) - ord("A") + k) % 26 + ord("A")))
                else:
                    out.append(ch)
            return "".join(out)
        """,
        [
            """
            import string


            def caesar_shift(s: str, k: int) -> str:
                lo, up = string.ascii_lowercase, string.ascii_uppercase
                n = k % 26
                table = str.maketrans(lo + up, lo[n:] + lo[:n] + up[n:] + up[:n])
                return s.translate(table)
            """,
            """
            def caesar_shift(s: str, k: int) -> str:
                def shift(c: str) -> str:
                    for base in (97, 65):
                        if base <= ord(c) < base + 26:
                            return chr(base + (ord(c) - base + k) % 26)
                    return c

                return "".join(shift(c) for c in s)
            """,
            """
            import string


            def caesar_shift(s: str, k: int) -> str:
                result = ""
                for c in s:
                    if c in string.ascii_lowercase:
                        result += string.ascii_lowercase[(string.ascii_lowercase.index(c) + k) % 26]
                    elif c in string.ascii_uppercase:
                        result += string.ascii_uppercase[(string.ascii_uppercase.index(c) + k) % 26]
                    else:
                        result += c
                return result
            """,
        ],
        [
            ("partial", """
            def caesar_shift(s: str, k: int) -> str:
                out = []
                for ch in s:
                    if ch.isascii() and ch.isalpha():
                        out.append(chr((ord(ch.lower()) - 97 + k) % 26 + 97))
                    else:
                        out.append(ch)
                return "".join(out)
            """),
            ("misreading", """
            def caesar_shift(s: str, k: int) -> str:
                out = []
                for ch in s:
                    if "a" <= ch <= "z":
                        out.append(chr((ord(ch) - 97 + k) % 26 + 97))
                    elif "A" <= ch <= "Z":
                        out.append(chr((ord(ch) - 65 + k) % 26 + 65))
                    elif ch.isdigit():
                        out.append(str((int(ch) + k) % 10))
                    else:
                        out.append(ch)
                return "".join(out)
            """),
            ("off_by_one", """
            def caesar_shift(s: str, k: int) -> str:
                out = []
                for ch in s:
                    if "a" <= ch <= "z":
                        out.append(chr((ord(ch) - 97 + k) % 25 + 97))
                    elif "A" <= ch <= "Z":
                        out.append(chr((ord(ch) - 65 + k) % 25 + 65))
                    else:
                        out.append(ch)
                return "".join(out)
            """),
            ("edge_case", """
            def caesar_shift(s: str, k: int) -> str:
                out = []
                for ch in s:
                    if ch.isalpha():
                        base = ord("A") if ch.isupper() else ord("a")
                        out.append(chr((ord(ch) - base + k) % 26 + base))
                    else:
                        out.append(ch)
                return "".join(out)
            """),
            ("misreading", """
            def caesar_shift(s: str, k: int) -> str:
                out = []
                for ch in s:
                    if "a" <= ch <= "z":
                        out.append(chr((ord(ch) - 97 - k) % 26 + 97))
                    elif "A" <= ch <= "Z":
                        out.append(chr((ord(ch) - 65 - k) % 26 + 65))
                    else:
                        out.append(ch)
                return "".join(out)
            """),
        ],
        [
            (["abc", 1], "bcd"), (["xyz", 3], "abc"), (["Hello, World!", 5], "Mjqqt, Btwqi!"),
            (["abc", -1], "zab"), (["Zz", 27], "Aa"), (["a1b2", 2], "c1d2"), (["", 4], ""),
            (["café", 1], "dbgé"), (["ABC", 52], "ABC"),
        ],
        [["", 0], ["a", 0], ["z", 1], ["Z", -1], ["ü", 3], ["n", 13]]
        + sample("caesar_shift", lambda r: [
            "".join(r.choice("abcxyzABXYZ 19!é") for _ in range(r.randint(0, 10))), r.randint(-30, 30)]),
    ),
    task(
        "longest_common_prefix", "dev",
        "def longest_common_prefix(words: list[str]) -> str:",
        """Return the longest string that is a prefix of every word in words.

        Comparison is case-sensitive. An empty list gives ''.
        """,
        """
        def longest_common_prefix(words: list[str]) -> str:
            if not words:
                return ""
            prefix = min(words, key=len)
            for word in words:
                while not word.startswith(prefix):
                    prefix = prefix[:-1]
            return prefix
        """,
        [
            """
            import os


            def longest_common_prefix(words: list[str]) -> str:
                return os.path.commonprefix(words)
            """,
            """
            def longest_common_prefix(words: list[str]) -> str:
                prefix = ""
                for chars in zip(*words):
                    if len(set(chars)) != 1:
                        break
                    prefix += chars[0]
                return prefix
            """,
            """
            def longest_common_prefix(words: list[str]) -> str:
                if not words:
                    return ""
                lo, hi = min(words), max(words)
                i = 0
                while i < min(len(lo), len(hi)) and lo[i] == hi[i]:
                    i += 1
                return lo[:i]
            """,
        ],
        [
            ("crash_on_empty", """
            def longest_common_prefix(words: list[str]) -> str:
                prefix = words[0]
                for word in words[1:]:
                    while not word.startswith(prefix):
                        prefix = prefix[:-1]
                return prefix
            """),
            ("partial", """
            def longest_common_prefix(words: list[str]) -> str:
                if not words:
                    return ""
                a, b = words[0], words[-1]
                i = 0
                while i < min(len(a), len(b)) and a[i] == b[i]:
                    i += 1
                return a[:i]
            """),
            ("misreading", """
            def longest_common_prefix(words: list[str]) -> str:
                if not words:
                    return ""
                lowered = [w.lower() for w in words]
                prefix = min(lowered, key=len)
                for word in lowered:
                    while not word.startswith(prefix):
                        prefix = prefix[:-1]
                return prefix
            """),
            ("off_by_one", """
            def longest_common_prefix(words: list[str]) -> str:
                if not words:
                    return ""
                shortest = min(words, key=len)
                for i in range(len(shortest) - 1):
                    if any(w[i] != shortest[i] for w in words):
                        return shortest[:i]
                return shortest[: max(len(shortest) - 1, 0)]
            """),
            ("wrong_type", """
            def longest_common_prefix(words: list[str]) -> str:
                if not words:
                    return ""
                prefix = ""
                for chars in zip(*words):
                    if len(set(chars)) != 1:
                        break
                    prefix += chars[0]
                return prefix or None
            """),
        ],
        [
            ([[]], ""), ([["flower", "flow", "flight"]], "fl"), ([["dog", "racecar", "car"]], ""),
            ([["abc"]], "abc"), ([["ab", "abc"]], "ab"), ([["Apple", "apple"]], ""), ([["", "a"]], ""),
            ([["interview", "internet", "interval"]], "inter"), ([["flower", "dog", "flow"]], ""),
        ],
        [[[]], [[""]], [["same", "same"]], [["Ab", "ab"]], [["x"]]]
        + sample("longest_common_prefix", lambda r: [[
            r.choice(["", "a", "ab", "abc", "abd", "Ab", "b"]) + r.choice(["", "x", "yz"])
            for _ in range(r.randint(0, 4))]]),
    ),
    task(
        "pair_with_sum", "test",
        "def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:",
        """Return indices (i, j) with i < j and nums[i] + nums[j] == target, or None.

        If several pairs qualify, return the one with the smallest j, and among those the
        smallest i.
        """,
        """
        def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
            for j in range(len(nums)):
                for i in range(j):
                    if nums[i] + nums[j] == target:
                        return (i, j)
            return None
        """,
        [
            """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                first_index: dict[int, int] = {}
                for j, x in enumerate(nums):
                    if target - x in first_index:
                        return first_index[target - x], j
                    first_index.setdefault(x, j)
                return None
            """,
            """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                seen: dict[int, int] = {}
                for j, value in enumerate(nums):
                    i = seen.get(target - value)
                    if i is not None:
                        return (i, j)
                    if value not in seen:
                        seen[value] = j
                return None
            """,
            """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                for j, b in enumerate(nums):
                    for i, a in enumerate(nums[:j]):
                        if a + b == target:
                            return i, j
                return None
            """,
        ],
        [
            ("misreading", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                for i in range(len(nums)):
                    for j in range(i + 1, len(nums)):
                        if nums[i] + nums[j] == target:
                            return (i, j)
                return None
            """),
            ("edge_case", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                seen: dict[int, int] = {}
                for j, x in enumerate(nums):
                    seen.setdefault(x, j)
                    if target - x in seen:
                        return (seen[target - x], j)
                return None
            """),
            ("partial", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                seen: dict[int, int] = {}
                for j, x in enumerate(nums):
                    if target - x in seen:
                        return (seen[target - x], j)
                    seen[x] = j
                return None
            """),
            ("wrong_type", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                for j in range(len(nums)):
                    for i in range(j):
                        if nums[i] + nums[j] == target:
                            return [i, j]
                return None
            """),
            ("misreading", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                for j in range(len(nums)):
                    for i in range(j):
                        if nums[i] + nums[j] == target:
                            return (nums[i], nums[j])
                return None
            """),
            ("edge_case", """
            def pair_with_sum(nums: list[int], target: int) -> tuple[int, int] | None:
                for j in range(len(nums)):
                    for i in range(j):
                        if nums[i] + nums[j] == target:
                            return (i, j)
                return (-1, -1)
            """),
        ],
        [
            ([[2, 7, 11, 15], 9], (0, 1)), ([[3, 1, 2, 0], 3], (1, 2)), ([[2, 5], 4], None),
            ([[1, 1, 2], 3], (0, 2)), ([[], 1], None), ([[5, 5], 10], (0, 1)),
            ([[4, -1, 6, 1], 5], (1, 2)), ([[0, 0, 0], 0], (0, 1)), ([[1, 2, 3], 7], None),
        ],
        [[[], 0], [[3], 6], [[3, 3], 6], [[1, 2], 4], [[2, 2, 2], 4]]
        + sample("pair_with_sum", lambda r: [[r.randint(-3, 8) for _ in range(r.randint(0, 7))],
                                             r.randint(-2, 12)]),
    ),
    task(
        "dedupe_keep_order", "dev",
        "def dedupe_keep_order(xs: list[int]) -> list[int]:",
        """Return xs without repeated values, keeping the first occurrence of each value.

        The values that remain keep their original order.
        """,
        """
        def dedupe_keep_order(xs: list[int]) -> list[int]:
            seen: set[int] = set()
            out: list[int] = []
            for x in xs:
                if x not in seen:
                    seen.add(x)
                    out.append(x)
            return out
        """,
        [
            """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return list(dict.fromkeys(xs))
            """,
            """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return [x for i, x in enumerate(xs) if x not in xs[:i]]
            """,
            """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                result: list[int] = []
                for value in xs:
                    if value in result:
                        continue
                    result.append(value)
                return result
            """,
        ],
        [
            ("misreading", """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return list(dict.fromkeys(reversed(xs)))[::-1]
            """),
            ("partial", """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return list(set(xs))
            """),
            ("misreading", """
            from itertools import groupby


            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return [x for x, _ in groupby(xs)]
            """),
            ("misreading", """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return [x for x in xs if xs.count(x) == 1]
            """),
            ("wrong_type", """
            def dedupe_keep_order(xs: list[int]) -> list[int]:
                return tuple(dict.fromkeys(xs))
            """),
        ],
        [
            ([[]], []), ([[1, 2, 1, 3, 2]], [1, 2, 3]), ([[3, 1, 2]], [3, 1, 2]), ([[5, 5, 5]], [5]),
            ([[1, 1, 2, 2, 1]], [1, 2]), ([[-1, 2, 2]], [-1, 2]), ([[2, 1, 1]], [2, 1]), ([[0]], [0]),
            ([[4, 3, 4, 3]], [4, 3]),
        ],
        [[[]], [[1]], [[1, 1]], [[2, 1]], [[1, 2, 3]]]
        + sample("dedupe_keep_order", lambda r: [[r.randint(-2, 6) for _ in range(r.randint(0, 9))]]),
    ),
    task(
        "wrap_text", "test",
        "def wrap_text(text: str, width: int) -> list[str]:",
        """Greedy word wrap.

        Split text into words on any whitespace and pack them, in order, into lines of at most
        width characters, words on a line joined by one space; each line takes as many words
        as fit. A word longer than width goes on a line of its own, unbroken. Text with no
        words gives []. width >= 1.
        """,
        """
        def wrap_text(text: str, width: int) -> list[str]:
            lines: list[str] = []
            current = ""
            for word in text.split():
                if not current:
                    current = word
                elif len(current) + 1 + len(word) <= width:
                    current += " " + word
                else:
                    lines.append(current)
                    current = word
            if current:
                lines.append(current)
            return lines
        """,
        [
            """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[list[str]] = []
                length = 0
                for word in text.split():
                    if lines and length + 1 + len(word) <= width:
                        lines[-1].append(word)
                        length += 1 + len(word)
                    else:
                        lines.append([word])
                        length = len(word)
                return [" ".join(line) for line in lines]
            """,
            """
            def wrap_text(text: str, width: int) -> list[str]:
                words = text.split()
                out = []
                i = 0
                while i < len(words):
                    line = words[i]
                    i += 1
                    while i < len(words) and len(line) + 1 + len(words[i]) <= width:
                        line = line + " " + words[i]
                        i += 1
                    out.append(line)
                return out
            """,
            """
            def wrap_text(text: str, width: int) -> list[str]:
                result: list[str] = []
                for word in text.split():
                    if result and len(result[-1]) + len(word) < width:
                        result[-1] = f"{result[-1]} {word}"
                    else:
                        result.append(word)
                return result
            """,
        ],
        [
            ("off_by_one", """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[str] = []
                current = ""
                for word in text.split():
                    if not current:
                        current = word
                    elif len(current) + 1 + len(word) < width:
                        current += " " + word
                    else:
                        lines.append(current)
                        current = word
                if current:
                    lines.append(current)
                return lines
            """),
            ("misreading", """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[str] = []
                current = ""
                for word in text.split():
                    while len(word) > width:
                        if current:
                            lines.append(current)
                            current = ""
                        lines.append(word[:width])
                        word = word[width:]
                    if not current:
                        current = word
                    elif len(current) + 1 + len(word) <= width:
                        current += " " + word
                    else:
                        lines.append(current)
                        current = word
                if current:
                    lines.append(current)
                return lines
            """),
            ("edge_case", """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[str] = []
                current = ""
                for word in text.split():
                    if not current:
                        current = word
                    elif len(current) + 1 + len(word) <= width:
                        current += " " + word
                    else:
                        lines.append(current)
                        current = word
                lines.append(current)
                return lines
            """),
            ("edge_case", """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[str] = []
                current = ""
                for word in text.split():
                    candidate = (current + " " + word).strip()
                    if len(candidate) <= width:
                        current = candidate
                    else:
                        lines.append(current)
                        current = word
                if current:
                    lines.append(current)
                return lines
            """),
            ("wrong_type", """
            def wrap_text(text: str, width: int) -> list[str]:
                lines: list[str] = []
                current = ""
                for word in text.split():
                    if not current:
                        current = word
                    elif len(current) + 1 + len(word) <= width:
                        current += " " + word
                    else:
                        lines.append(current)
                        current = word
                if current:
                    lines.append(current)
                return "\\n".join(lines)
            """),
        ],
        [
            (["the quick brown fox", 10], ["the quick", "brown fox"]), (["", 5], []), (["   ", 3], []),
            (["a b c d", 3], ["a b", "c d"]), (["abcdefghij xy", 4], ["abcdefghij", "xy"]),
            (["one two", 7], ["one two"]), (["hi  there\nyou", 8], ["hi there", "you"]),
            (["x", 1], ["x"]), (["aa bb cc", 5], ["aa bb", "cc"]),
        ],
        [["", 1], [" \n ", 4], ["word", 4], ["word", 3], ["a b", 3]]
        + sample("wrap_text", lambda r: [
            " ".join(r.choice(["a", "to", "the", "word", "longer", "wrapping", "x"])
                     for _ in range(r.randint(0, 8))), r.randint(1, 12)]),
    ),
    task(
        "digital_root", "dev",
        "def digital_root(n: int) -> int:",
        """Return the digital root of n >= 0.

        Repeatedly replace n by the sum of its decimal digits until a single digit remains.
        """,
        """
        def digital_root(n: int) -> int:
            while n >= 10:
                n = sum(int(d) for d in str(n))
            return n
        """,
        [
            """
            def digital_root(n: int) -> int:
                return 0 if n == 0 else 1 + (n - 1) % 9
            """,
            """
            def digital_root(n: int) -> int:
                if n < 10:
                    return n
                total = 0
                while n:
                    total += n % 10
                    n //= 10
                return digital_root(total)
            """,
            """
            def digital_root(n: int) -> int:
                s = str(n)
                while len(s) > 1:
                    s = str(sum(map(int, s)))
                return int(s)
            """,
        ],
        [
            ("edge_case", """
            def digital_root(n: int) -> int:
                return 1 + (n - 1) % 9
            """),
            ("partial", """
            def digital_root(n: int) -> int:
                return sum(int(d) for d in str(n))
            """),
            ("other", """
            def digital_root(n: int) -> int:
                return n % 9
            """),
            ("off_by_one", """
            def digital_root(n: int) -> int:
                while n > 10:
                    n = sum(int(d) for d in str(n))
                return n
            """),
            ("misreading", """
            def digital_root(n: int) -> int:
                steps = 0
                while n >= 10:
                    n = sum(int(d) for d in str(n))
                    steps += 1
                return steps
            """),
        ],
        [
            ([0], 0), ([5], 5), ([9], 9), ([10], 1), ([38], 2), ([99], 9), ([12345], 6), ([18], 9),
            ([999999999999], 9),
        ],
        [[0], [1], [9], [10], [19], [100]]
        + sample("digital_root", lambda r: [r.choice([r.randint(0, 99), r.randint(0, 10**6),
                                                      9 * r.randint(1, 1000)])]),
    ),
    task(
        "camel_to_snake", "test",
        "def camel_to_snake(name: str) -> str:",
        """Convert a camelCase or PascalCase identifier to snake_case.

        An underscore goes before an upper-case letter that follows a lower-case letter or a
        digit, and before an upper-case letter that follows another upper-case letter and is
        followed by a lower-case letter, so acronyms stay together: "parseHTTPResponse" gives
        "parse_http_response". Digits never start a new word. The result is lower-cased.
        """,
        """
        import re


        def camel_to_snake(name: str) -> str:
            return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
        """,
        [
            """
            import re


            def camel_to_snake(name: str) -> str:
                step = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\\1_\\2", name)
                return re.sub(r"([a-z0-9])([A-Z])", r"\\1_\\2", step).lower()
            """,
            """
            def camel_to_snake(name: str) -> str:
                out = []
                for i, ch in enumerate(name):
                    if ch.isupper() and i > 0:
                        prev = name[i - 1]
                        nxt = name[i + 1] if i + 1 < len(name) else ""
                        if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                            out.append("_")
                    out.append(ch.lower())
                return "".join(out)
            """,
            """
            def camel_to_snake(name: str) -> str:
                result = ""
                for i, c in enumerate(name):
                    before = name[i - 1] if i else ""
                    after = name[i + 1 : i + 2]
                    boundary = before.islower() or before.isdigit()
                    acronym_end = before.isupper() and after.islower()
                    if c.isupper() and (boundary or acronym_end):
                        result += "_"
                    result += c.lower()
                return result
            """,
        ],
        [
            ("misreading", """
            def camel_to_snake(name: str) -> str:
                return "".join(
                    "_" + c.lower() if c.isupper() and i > 0 else c.lower() for i, c in enumerate(name)
                )
            """),
            ("edge_case", """
            import re


            def camel_to_snake(name: str) -> str:
                return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?=[A-Z][a-z])", "_", name).lower()
            """),
            ("partial", """
            import re


            def camel_to_snake(name: str) -> str:
                return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
            """),
            ("misreading", """
            import re


            def camel_to_snake(name: str) -> str:
                s = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Za-z])", "_", name)
                return re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s).lower()
            """),
            ("other", """
            import re


            def camel_to_snake(name: str) -> str:
                return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
            """),
        ],
        [
            (["parseHTTPResponse"], "parse_http_response"), (["helloWorld"], "hello_world"),
            (["HelloWorld"], "hello_world"), (["simple"], "simple"), (["version2Name"], "version2_name"),
            (["getID"], "get_id"), (["XMLParser"], "xml_parser"), ([""], ""), (["a"], "a"),
            (["ABC"], "abc"),
        ],
        [[""], ["x"], ["X"], ["IO"], ["ioError"], ["HTTPServer2Go"]]
        + sample("camel_to_snake", lambda r: ["".join(
            r.choice(["get", "Set", "HTTP", "Id", "x", "Url", "2", "json", "ABC", "Parser"])
            for _ in range(r.randint(1, 4)))]),
    ),
]
