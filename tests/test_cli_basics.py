"""Day-one basics of the `territory` command: --version, -h, ignored demo folder."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

from territory.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def test_version_flag_prints_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == version("territory-agent")


def test_short_help_flag_works_like_long_one_on_root_and_subcommands() -> None:
    for args in (["-h"], ["sync", "-h"], ["rules", "validate", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_demo_folder_is_ignored_by_git() -> None:
    checked = subprocess.run(
        ["git", "check-ignore", "-q", "territory-demo/territory.yaml"], cwd=ROOT, check=False
    )
    assert checked.returncode == 0
