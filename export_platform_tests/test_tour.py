"""The README's tour and the command line it shows: two set-up commands, a screenshot of the asset
graph, five common tasks that each parse as one command of Dagster's CLI or the project's, help a
newcomer can follow (the backfill's own tests are in test_backfill_cli.py)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import click
import dagster as dg
import pytest
import yaml
from click.testing import CliRunner

from export_platform.cli import main
from export_platform.definitions import defs
from export_platform_tests.support.project import BIN, PROJECT


def tour() -> str:
    readme = (PROJECT / "README.md").read_text()
    match = re.search(r"^## Tour\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Tour' section"
    return match.group(1)


def code_blocks(text: str) -> list[list[str]]:
    """Each bash block's commands, one per line, comments and continuation lines joined."""
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = body.replace("\\\n", " ")
        blocks.append([line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()])
    return blocks


def parse(args: list[str]) -> None:
    """Parse ``args`` as the CLI would, down to the last subcommand, without running anything."""
    program, *rest = args
    group = {"export-platform": main, "dg": dg_cli()}[program]
    context = group.make_context(program, list(rest), resilient_parsing=False)
    command = group
    while isinstance(command, click.Group):
        name, command, remaining = command.resolve_command(context, context.protected_args + context.args)
        context = command.make_context(name, remaining, parent=context)


def dg_cli() -> click.Group:
    from dagster_dg_cli.cli import cli

    return cli


def test_tour_has_two_setup_commands_a_screenshot_and_five_tasks() -> None:
    text = tour()
    setup, tasks = code_blocks(text)[:2]
    assert len(setup) == 2 and len(tasks) == 5, (setup, tasks)
    image = re.search(r"!\[[^\]]+\]\((docs/images/[^)]+\.png)\)", text)
    assert image, "the tour shows no screenshot"
    png = PROJECT / image.group(1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    programs = []
    for command in tasks:
        args = shlex.split(command)
        programs.append(args[0])
        parse(args)
        if args[:2] == ["export-platform", "adhoc"]:
            config = yaml.safe_load((PROJECT / args[args.index("--config") + 1]).read_text())
            assert dg.validate_run_config(defs.resolve_job_def("adhoc_export"), config)
    assert set(programs) == {"dg", "export-platform"}


def test_a_wrong_option_in_a_task_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        parse(["export-platform", "backfill", "--month", "2026-10", "--tenant", "acme"])
    with pytest.raises(click.UsageError):
        parse(["dg", "launch", "--partitions", "2026-10|acme"])


@pytest.mark.parametrize(
    "command",
    [[], ["seed"], ["tenants", "sync"], ["backfill"], ["history"], ["demo"], ["schedules", "add"]],
    ids=lambda c: " ".join(c) or "main",
)
def test_help_explains_each_command(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    description = result.output.split("\n\n", 2)[1]
    assert len(description.split()) >= 6  # a sentence, not a word
    if command in ([], ["seed"], ["tenants", "sync"], ["backfill"], ["history"]):
        assert "export-platform " in result.output.split("Options:")[0]  # an example to copy
    for line in result.output.split("Commands:")[-1].splitlines()[1:]:
        assert not line.rstrip().endswith("..."), line  # no truncated summaries


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``args`` run as a user would, in ``cwd`` (where commands keep .export_platform/logs/)."""
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def logged_to(stderr: str, folder: Path) -> Path:
    """The log file a quiet command names on stderr, which must lie in ``folder``/.export_platform/logs."""
    [line] = [line for line in stderr.splitlines() if line.startswith("Dagster's logs: ")]
    path = folder / line.removeprefix("Dagster's logs: ").removesuffix(" (and each run's page in the UI)")
    assert path.parent == folder / ".export_platform" / "logs" and path.is_file(), line
    return path


def test_demo_prints_progress_and_its_table_and_replaces_its_data_only_when_told(tmp_path: Path) -> None:
    """The demo on a fresh folder and a second time, as scripts/demo.sh runs it (with --replace)."""
    (tmp_path / "dagster.local.yaml").write_bytes((PROJECT / "dagster.local.yaml").read_bytes())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EXPORT_SOURCE_URL", "EXPORT_ARTIFACT_ROOT", "DAGSTER_HOME")
    }
    demo = [
        str(BIN / "export-platform"),
        "demo",
        "--tenants",
        "1",
        "--sales-per-day",
        "1",
        "--month",
        "2026-10",
    ]

    first = run(*demo, env=env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr and "DEBUG" not in first.stdout + first.stderr
    lines = first.stdout.splitlines()
    header = lines.index(f"{'tenant':<10} {'asset':<16} {'rows':>8}  where")
    table = lines[header + 1 : lines.index("", header)]
    assert len(table) == 30 and all(line.startswith("acme ") for line in table)  # 8 datasets, 22 exports
    assert len(lines) - len(table) <= 17 and len(first.stderr.splitlines()) == 1, first.stdout
    report = "http://127.0.0.1:3000/locations/export_platform/jobs/sales_report?partition=2026-10|acme"
    assert lines[-1] == f"A tenant's month again, in two clicks: {report}"
    assert logged_to(first.stderr, tmp_path).read_text().count("RUN_SUCCESS") == 1

    again = run(*demo, env=env, cwd=tmp_path)
    assert again.returncode == 2 and again.stdout == ""
    what, fix = again.stderr.splitlines()
    assert what.startswith("Error: sqlite:///") and " holds 1 tenant (acme) and " in what
    assert fix == "Run `export-platform demo --replace` to drop them and seed anew."
    assert "--replace" in (PROJECT / "scripts" / "demo.sh").read_text()

    replaced = run(*demo, "--replace", env=env, cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert replaced.stdout.splitlines()[1].startswith("    dropping 1 tenant (acme) and ")
    assert len(replaced.stdout.splitlines()) == len(lines) + 1


def test_readme_is_a_short_front_door_whose_links_resolve() -> None:
    """README is the front door (the two commands, a tour, everyday commands, configuration) and
    everything else lives in docs/, reached by links that exist."""
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    two_commands = re.search(r"^## Two commands\n(.*?)(?=^## )", readme, re.S | re.M)
    assert two_commands, "README has no '## Two commands' section"
    assert code_blocks(two_commands.group(1))[0] == ["./scripts/demo.sh", "./scripts/test.sh"]
    for page in [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
