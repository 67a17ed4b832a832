"""The tamper check refuses what a candidate adds, never the project's own code kept as it is."""

from __future__ import annotations

from gauntlet.graders.tamper import tamper_reason

PLUGIN = """\
import sys

import _pytest
from _pytest.python import Function


def swap(stream: object) -> None:
    sys.stdout = stream


def item(node: Function) -> str:
    return node.name
"""


def test_the_projects_own_constructs_kept_verbatim_are_allowed() -> None:
    # The file is a pytest plugin that swaps sys.stdout: a fix elsewhere in it must be gradable.
    fixed = PLUGIN.replace("return node.name", "return node.nodeid")
    assert tamper_reason(PLUGIN) is not None  # without the current file, it is all refused
    assert tamper_reason(fixed, PLUGIN) is None


def test_what_a_candidate_adds_is_refused() -> None:
    patched = PLUGIN + "\n\nFunction.runtest = lambda self: None  # noqa\nimport _pytest.runner\n"
    assert (
        tamper_reason(patched, PLUGIN) == "imports _pytest.runner, the test machinery's internals"
    )
    exits = PLUGIN.replace("return node.name", "import os\n    os._exit(0)")
    assert (
        tamper_reason(exits, PLUGIN) == "calls os._exit, which ends the test run without a result"
    )


def test_a_second_copy_of_an_allowed_construct_is_refused() -> None:
    twice = PLUGIN.replace("return node.name", "sys.stdout = node\n    return node.name")
    assert tamper_reason(twice, PLUGIN) == "patches sys.stdout"
    # Changed, not copied: the project's line is not the candidate's.
    changed = PLUGIN.replace("sys.stdout = stream", "sys.stdout = None")
    assert tamper_reason(changed, PLUGIN) == "patches sys.stdout"
