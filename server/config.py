"""From settings to what a proposer and a job take: one path for the language server and every command.

Every path starts from the schema's defaults and the project's pyproject.toml `[tool.gauntlet]`
(settings.read_project). The language server puts the editor's values over them; a command
(`gauntlet fix`, `select`, `demo`) puts its flags over them (`command_settings`). Both then go
through `proposer_config` and `job_request`, so a setting added to the schema reaches the server
and the commands alike, and none of them keeps its own copy of a default or of the prices.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gauntlet.server.jobs import JobKey, JobRequest
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import ProposerConfig, resolve_endpoint
from gauntlet.server.settings import ProjectSettings, Settings, read_project


def command_settings(root: Path, warn: Callable[[str], None], **flags: Any) -> Settings:
    """What a command runs with: the schema's defaults, then the project's `[tool.gauntlet]`,
    then the flags that were given (a None flag was not given and keeps the project's value).

    A problem in the table (a bad value, an unknown name, a file that is not TOML) is said through
    `warn`, one line naming the file, the key and the value kept instead, and the command goes on
    with that value, as the server does; `gauntlet doctor` shows them all.
    """
    return settings_with(command_project(root, warn).settings, **flags)


def command_project(root: Path, warn: Callable[[str], None]) -> ProjectSettings:
    """The project's `[tool.gauntlet]` over the schema's defaults, each problem said through
    `warn` (see `command_settings`)."""
    project = read_project(root)
    for problem in project.problems:
        warn(str(problem))
    return project


def warn_as(command: str) -> Callable[[str], None]:
    """A command's warnings on stderr, one line each: `gauntlet fix: ...`."""

    def warn(line: str) -> None:
        sys.stderr.write(f"gauntlet {command}: {line}\n")

    return warn


def settings_with(base: Settings | None = None, **overrides: Any) -> Settings:
    """`base` (the defaults when None) with the given fields replaced; a None value keeps the
    base's (a command-line flag that was not given)."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(base or Settings(), **given)


def proposer_config(
    settings: Settings, env: Mapping[str, str] | None = None, timeout_s: float | None = None
) -> ProposerConfig:
    """The endpoint, sampling, limits and prices of candidate requests."""
    base_url, model, key = resolve_endpoint(
        settings.base_url, settings.model, settings.api_key_env, os.environ if env is None else env
    )
    return ProposerConfig(
        base_url=base_url,
        model=model,
        api_key=key,
        n=settings.candidates,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        stream=settings.stream,
        use_n_param=settings.use_n_parameter,
        total_timeout_s=timeout_s if timeout_s is not None else settings.request_timeout,
        price_in_per_mtok=settings.price_input_per_m_tok,
        price_out_per_mtok=settings.price_output_per_m_tok,
        api_key_env=settings.api_key_env,
    )


def job_request(
    settings: Settings,
    key: JobKey,
    rel_path: str,
    text: str,
    diagnostics: Sequence[DiagnosticInfo],
) -> JobRequest:
    """A job for `key` on `text` with the settings' counts, budgets and options; a fix-all job
    is held to the timeout of automatic work."""
    return JobRequest(
        key=key,
        rel_path=rel_path,
        text=text,
        diagnostics=list(diagnostics),
        candidates=settings.candidates,
        tests=settings.tests,
        max_tokens=settings.max_tokens_per_job,
        max_reply_tokens=settings.max_tokens,
        time_limit_s=settings.automatic_timeout if key.kind == "fixall" else None,
        early_stop=settings.early_stop,
        extra_candidates=settings.extra_candidates,
        distinguish=settings.distinguish,
    )
