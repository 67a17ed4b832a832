"""Fixes that change more than one file: a call in `shop/cart.py` passes a rate that
`shop/pricing.py`'s `with_tax` does not take (mypy says so on the call; a test fails). The right fix
is in the other file. Such a candidate is graded as one change: every file parses, each is linted
against its own current findings, mypy checks the project with both in place, and the tests that
ran the code it changes in either file run with both in place."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate
from gauntlet.server.edit_blocks import ReplyError
from gauntlet.server.edits import apply_edits, files_edit
from gauntlet.server.regions import Located, locate
from gauntlet.server.related import apply_across, related_definitions
from tests.openai_stub import OpenAIStub
from tests.test_lsp import initialize_params

FIXTURES = Path(__file__).parent / "fixtures"
GAUNTLET = [sys.executable, "-m", "gauntlet.server.cli"]
CART = "shop/cart.py"
PRICING = "shop/pricing.py"

PRICING_FIXED = '''"""Prices with tax."""


def with_tax(amount: float, rate: float = 1.2) -> float:
    """The amount with tax at `rate` (the standard rate by default)."""
    return round(amount * rate, 2)
'''
# Takes the rate, but the callers that relied on the standard rate now fail.
PRICING_NO_DEFAULT = PRICING_FIXED.replace("rate: float = 1.2", "rate: float")
PRICING_LINT = "import os\n" + PRICING_FIXED


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    root = tmp_path_factory.mktemp("ws") / "shop"
    shutil.copytree(FIXTURES / "shop", root)
    engine = Engine(root)
    try:
        yield engine, root
    finally:
        engine.close()


def test_a_fix_in_another_file_is_graded_with_both_files_in_place(
    shop: tuple[Engine, Path],
) -> None:
    engine, root = shop
    cart = (root / CART).read_text()
    before = {p: (root / p).read_bytes() for p in (CART, PRICING)}
    report = engine.grade(
        CART,
        [
            Candidate("right", cart, {PRICING: PRICING_FIXED}),
            Candidate("breaks-callers", cart, {PRICING: PRICING_NO_DEFAULT}),
            Candidate("lint", cart, {PRICING: PRICING_LINT}),
            Candidate("broken", cart, {PRICING: "def with_tax(:\n"}),
            Candidate("outside", cart, {"../elsewhere.py": "x = 1\n"}),
        ],
    )
    by_id = {v.id: v for v in report.verdicts}
    right = by_id["right"]
    assert right.verified, right.checks
    assert report.selected == "right"
    assert right.others == {PRICING: PRICING_FIXED}
    tests = right.checks["tests"].evidence
    # The cart test that failed now passes; the pricing test that passed still does.
    assert "tests/test_cart.py::test_total_at_a_rate" in tests.fixed
    assert tests.passed == tests.total and tests.total >= 2
    assert right.checks["mypy"].status == "pass"

    no_default = by_id["breaks-callers"]
    assert not no_default.verified
    failing = {n: c for n, c in no_default.checks.items() if c.status == "fail"}
    # mypy (the pricing test calls with_tax without a rate) or the test itself says so.
    assert failing, no_default.checks
    assert "mypy" in failing or "test_standard_rate" in failing["tests"].reason

    lint = by_id["lint"].checks["ruff"]
    assert lint.status == "fail" and lint.reason.startswith(f"{PRICING}: ")
    assert "F401" in lint.reason

    broken = by_id["broken"].checks["syntax"]
    assert broken.status == "fail" and broken.reason.startswith(f"{PRICING} does not parse")
    outside = by_id["outside"].checks["syntax"]
    assert outside.status == "fail" and "inside the workspace" in outside.reason
    # Grading never writes the workspace.
    assert {p: (root / p).read_bytes() for p in (CART, PRICING)} == before
    assert not (root.parent / "elsewhere.py").exists()

    # Confirming the winner runs every test covering either file, with both in place.
    confirmed = engine.confirm_report(report)
    assert confirmed.selected == "right"
    assert confirmed.confirmation["status"] == "pass", confirmed.confirmation


# Through the language server: the model is shown `with_tax` under its path and answers with a
# block headed by that path; the offered edit changes both documents in one versioned step.
REPLY_IN_PRICING = '''The call is right; `with_tax` should take the rate.

shop/pricing.py
<<<<<<< SEARCH
def with_tax(amount: float) -> float:
    """The amount with the standard rate of tax."""
    return round(amount * 1.2, 2)
=======
def with_tax(amount: float, rate: float = 1.2) -> float:
    """The amount with tax at `rate` (the standard rate by default)."""
    return round(amount * rate, 2)
>>>>>>> REPLACE
'''
CALL_LINE = 7


class ShopEnv:
    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "shop"
        shutil.copytree(FIXTURES / "shop", self.ws)
        self.stub: OpenAIStub | None = None
        self.client_name = ""


@pytest.fixture
def shop_env(tmp_path: Path) -> ShopEnv:
    return ShopEnv(tmp_path)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"]
    ),
    params=["visual-studio-code", "neovim"],
)
async def client(request: Any, lsp_client: LanguageClient) -> AsyncIterator[None]:
    env: ShopEnv = request.getfixturevalue("shop_env")
    env.client_name = request.param
    with OpenAIStub(lambda body: [REPLY_IN_PRICING]) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(request.param, env.ws, stub.base_url, candidates=2, requestTimeout=90)
        )
        yield
        await lsp_client.shutdown_session()


def _open(client: LanguageClient, path: Path, version: int) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=path.read_text()
            )
        )
    )
    return uri


def _call_params(uri: str) -> types.CodeActionParams:
    at = types.Position(line=CALL_LINE, character=22)
    diagnostic = types.Diagnostic(
        range=types.Range(start=at, end=at),
        message='Too many arguments for "with_tax"',
        source="mypy",
        code="call-arg",
    )
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=at, end=at),
        context=types.CodeActionContext(diagnostics=[diagnostic]),
    )


@pytest.mark.timeout(240)
async def test_a_quick_fix_in_the_callee_is_one_edit_over_both_documents(
    client: LanguageClient, shop_env: ShopEnv
) -> None:
    ws, stub, lsp_client = shop_env.ws, shop_env.stub, client
    assert stub is not None
    cart_uri = _open(lsp_client, ws / CART, 1)
    pricing_uri = _open(lsp_client, ws / PRICING, 4)
    before = {p: (ws / p).read_text() for p in (CART, PRICING)}
    result = await lsp_client.text_document_code_action_async(_call_params(cart_uri))
    pending = [a for a in result or [] if isinstance(a, types.CodeAction)]
    assert len(pending) == 1
    action = await lsp_client.code_action_resolve_async(pending[0])
    assert action.edit is not None, action.title
    if shop_env.client_name == "visual-studio-code":
        # It takes documentChanges: both versioned, refused whole if either document moved on.
        assert action.edit.document_changes and action.edit.changes is None
        changes = [c for c in action.edit.document_changes if isinstance(c, types.TextDocumentEdit)]
        by_uri = {c.text_document.uri: c for c in changes}
        assert set(by_uri) == {cart_uri, pricing_uri}
        assert by_uri[cart_uri].text_document.version == 1
        assert by_uri[pricing_uri].text_document.version == 4
        edits = {uri: list(c.edits) for uri, c in by_uri.items()}
    else:
        # Neovim does not say it takes documentChanges: plain changes by URI.
        assert action.edit.document_changes is None and action.edit.changes is not None
        edits = {uri: list(e) for uri, e in action.edit.changes.items()}
    assert set(edits) == {cart_uri, pricing_uri}
    assert edits[cart_uri] == []
    pricing_edits = [e for e in edits[pricing_uri] if isinstance(e, types.TextEdit)]
    assert apply_edits(before[PRICING], pricing_edits) == PRICING_FIXED
    assert "also changes pricing.py" in action.title, action.title
    # The model was shown the callee under its path, with how to change it.
    prompt = stub.requests[0]["messages"][-1]["content"]
    assert "`shop/pricing.py`, lines 4-6:" in prompt and "def with_tax(amount: float)" in prompt
    # Nothing was written: the editor applies the edit.
    assert {p: (ws / p).read_text() for p in (CART, PRICING)} == before

    # The other document changes in the editor: the fix made on its old text is not offered.
    lsp_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=pricing_uri, version=5),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text=before[PRICING] + "\n# note\n")
            ],
        )
    )
    await asyncio.sleep(0.2)
    again = await lsp_client.text_document_code_action_async(_call_params(cart_uri))
    offered = [a for a in again or [] if isinstance(a, types.CodeAction) and a.edit is not None]
    assert offered == []


def test_an_edit_over_several_files_falls_back_to_plain_changes_without_document_changes() -> None:
    edit = files_edit(
        [("file:///a.py", 1, "x = 1\n", "x = 2\n"), ("file:///b.py", None, "y\n", "z\n")],
        versioned=False,
    )
    assert edit.document_changes is None and edit.changes is not None
    assert apply_edits("x = 1\n", list(edit.changes["file:///a.py"])) == "x = 2\n"
    assert apply_edits("y\n", list(edit.changes["file:///b.py"])) == "z\n"


def test_fix_from_the_terminal_shows_and_writes_every_file_it_changes(tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", ws)
    tape = tmp_path / "cassette.json"
    tape.write_text(
        json.dumps(
            {"version": 1, "exchanges": [{"match": "Task: Fix", "replies": [REPLY_IN_PRICING]}]}
        )
    )
    argv = [*GAUNTLET, "fix", str(ws / CART), "--line", str(CALL_LINE + 1)]
    argv += ["--cassette", str(tape), "--candidates", "2", "--tests", "0"]
    before = (ws / PRICING).read_text()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The diagnostic is mypy's on the call; the diff is of the other file.
    assert f"{CART}:{CALL_LINE + 1}: mypy[call-arg]" in proc.stdout, proc.stdout
    assert f"--- a/{PRICING}\n+++ b/{PRICING}\n" in proc.stdout
    assert "+def with_tax(amount: float, rate: float = 1.2) -> float:" in proc.stdout
    assert "(not written: pass --apply to write it)" in proc.stdout
    assert (ws / PRICING).read_text() == before

    proc = subprocess.run([*argv, "--apply"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote {ws / CART} and 1 other file" in proc.stdout
    assert (ws / PRICING).read_text() == PRICING_FIXED
    # With the callee fixed, the project's tests pass as they are.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout


# -- the reply: blocks sorted by the file they change --------------------------------------------

CART_TEXT = (FIXTURES / "shop" / CART).read_text()
PRICING_TEXT = (FIXTURES / "shop" / PRICING).read_text()


def _located(text: str = CART_TEXT) -> Located:
    return locate(text, CALL_LINE, CALL_LINE)


def _read(rel: str) -> str | None:
    path = FIXTURES / "shop" / rel
    return path.read_text() if path.is_file() else None


def test_the_region_s_imports_from_the_workspace_are_shown_with_their_path() -> None:
    related = related_definitions(CART, CART_TEXT, _located(), _read)
    assert [(r.rel_path, r.name, r.start_line, r.end_line) for r in related] == [
        (PRICING, "with_tax", 3, 5)
    ]
    assert related[0].text.startswith("def with_tax(amount: float) -> float:")
    # A relative import names the same file; a name from outside the workspace names none.
    relative = CART_TEXT.replace("from shop.pricing import", "from .pricing import")
    assert [r.rel_path for r in related_definitions(CART, relative, _located(relative), _read)] == [
        PRICING
    ]
    outside = CART_TEXT.replace("from shop.pricing import", "from decimal import")
    assert related_definitions(CART, outside, _located(outside), _read) == []


@pytest.mark.parametrize(
    "header",
    [
        "shop/pricing.py",
        "`shop/pricing.py`",
        "**shop/pricing.py**",
        "### shop/pricing.py",
        "File: shop/pricing.py",
        "pricing.py",
        "./shop/pricing.py:",
    ],
)
def test_a_path_line_in_any_common_form_sends_the_blocks_after_it_to_that_file(
    header: str,
) -> None:
    related = related_definitions(CART, CART_TEXT, _located(), _read)
    reply = REPLY_IN_PRICING.replace("shop/pricing.py", header, 1)
    content, others = apply_across(reply, CART, CART_TEXT, _located(), related)
    assert content == CART_TEXT
    assert others == {PRICING: PRICING_FIXED}


def test_blocks_for_both_files_and_a_fenced_path_apply_together() -> None:
    related = related_definitions(CART, CART_TEXT, _located(), _read)
    own = (
        "<<<<<<< SEARCH\n    return round(sum(with_tax(p, rate) for p in prices), 2)\n=======\n"
        "    return round(sum(with_tax(p, rate=rate) for p in prices), 2)\n>>>>>>> REPLACE\n"
    )
    fenced = REPLY_IN_PRICING.replace("shop/pricing.py\n", "```python shop/pricing.py\n", 1)
    content, others = apply_across(
        own + "\n" + fenced + "```\n", CART, CART_TEXT, _located(), related
    )
    assert "with_tax(p, rate=rate)" in content
    assert others == {PRICING: PRICING_FIXED}
    # Without a path line, everything is the region's file's, as before.
    plain, none = apply_across(own, CART, CART_TEXT, _located(), related)
    assert plain == content and none == {}


def test_a_block_that_does_not_match_the_other_file_rejects_the_whole_reply_naming_it() -> None:
    related = related_definitions(CART, CART_TEXT, _located(), _read)
    wrong = REPLY_IN_PRICING.replace("return round(amount * 1.2, 2)\n=", "return amount\n=")
    with pytest.raises(ReplyError, match=r"^shop/pricing.py: block 1 does not match the file"):
        apply_across(wrong, CART, CART_TEXT, _located(), related)


def test_edits_to_the_same_other_file_combine_or_overlap_there() -> None:
    from gauntlet.graders.patchset import Edit, combine_others, overlapping

    companions = {PRICING: PRICING_TEXT}
    rate = Edit("rate", "rate", CART_TEXT, others={PRICING: PRICING_FIXED})
    doc = PRICING_TEXT.replace('"""Prices with tax."""', '"""Prices, with tax."""')
    note = Edit("note", "note", CART_TEXT, others={PRICING: doc})
    assert not overlapping(CART_TEXT, rate, note, companions)
    assert combine_others(companions, [rate, note]) == {
        PRICING: PRICING_FIXED.replace('"""Prices with tax."""', '"""Prices, with tax."""')
    }
    other_rate = Edit("other", "other", CART_TEXT, others={PRICING: PRICING_NO_DEFAULT})
    assert overlapping(CART_TEXT, rate, other_rate, companions)


FIX_COUNT = (
    "<<<<<<< SEARCH\n    unused = 0\n    return len(prices)\n=======\n"
    "    return len(prices)\n>>>>>>> REPLACE\n"
)


def test_fix_all_combines_a_fix_in_another_file_with_the_file_s_own_and_applies_both(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", ws)
    tape = tmp_path / "cassette.json"
    exchanges = [
        {"match": "Task: Fix the diagnostics above in `total`", "replies": [REPLY_IN_PRICING]},
        {"match": "Task: Fix the diagnostics above in `count`", "replies": [FIX_COUNT]},
    ]
    tape.write_text(json.dumps({"version": 1, "exchanges": exchanges}))
    argv = [*GAUNTLET, "fix", "--all", str(ws / CART), "--cassette", str(tape)]
    argv += ["--candidates", "2", "--tests", "0", "--apply"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^Fix 3 of 3 diagnostics \(verified as a set, ", out, re.M), out
    assert f"(also changes {PRICING})" in out
    assert f"--- a/{PRICING}\n" in out and f"--- a/{CART}\n" in out
    assert f"wrote {ws / CART} and 1 other file" in out
    assert (ws / PRICING).read_text() == PRICING_FIXED
    assert "unused" not in (ws / CART).read_text()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
