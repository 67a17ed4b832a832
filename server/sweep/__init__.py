"""`gauntlet sweep`: verified fixes across a whole repository (see server/sweep/command.py).

plan.py (files, findings, one job per region, the snapshot), lanes.py (the model: interactive
or batch API), journal.py (resume), grader.py (one file graded and combined), pools.py (in this
process or on Ray), output.py (patches and reports), progress.py (the bar).
"""

from gauntlet.server.sweep.command import add_parser, run

__all__ = ["add_parser", "run"]
