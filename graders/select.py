"""Temporary: the names graders/select.py held, now in records, verdicts, rounds and engine."""

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate, Report, UntrustedTest, Verdict

__all__ = ["Candidate", "Engine", "Report", "UntrustedTest", "Verdict"]
