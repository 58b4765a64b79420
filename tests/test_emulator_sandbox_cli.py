"""``territory sandbox``: help, clear errors, and ``serve`` as a real foreground process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.main import app

TERRITORY = [sys.executable, "-m", "territory.cli.main"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def _get_json(url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_serve_help_names_every_contract_flag_when_asked() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--port", "--accounts", "--seed", "--fault-rate", "--env-file", "--http-port", "--crm",
                 "--opportunities"):
        assert flag in result.output
    assert "Ctrl-C" in result.output


@pytest.mark.parametrize("command", ["status", "mutate", "faults", "expire-token"])
def test_drive_commands_fail_with_next_step_when_no_emulator_is_known(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sandbox", command, "--env-file", str(tmp_path / "none.env")],
                                env={"TERRITORY_EMULATOR_URL": ""})
    assert result.exit_code == 2
    assert "no emulator URL" in result.output and "--url" in result.output


def test_drive_commands_fail_clearly_when_the_emulator_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    result = CliRunner().invoke(app, ["sandbox", "status", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 2 and "cannot reach the emulator" in result.output


def test_serve_rejects_an_unknown_crm_when_asked() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--crm", "oracle", "--accounts", "5"])
    assert result.exit_code == 2 and "--crm" in result.output


def test_serve_exits_2_with_next_step_when_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*TERRITORY, "sandbox", "serve", "--port", str(port), "--accounts", "5"],
                              capture_output=True, text=True, timeout=60, env=_env())
    assert done.returncode == 2
    assert "already in use" in done.stderr and "Next step" in done.stderr


def test_serve_answers_on_its_port_and_writes_env_file_when_run_as_a_process(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    proc = subprocess.Popen(
        [*TERRITORY, "sandbox", "serve", "--accounts", "400", "--seed", "3", "--env-file", str(env_file),
         "--crm", "hubspot", "--fault-rate", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    try:
        runner = CliRunner()
        ready = runner.invoke(app, ["sandbox", "wait", "--env-file", str(env_file), "--timeout", "60"])
        assert ready.exit_code == 0 and "emulator ready" in ready.output, ready.output
        values = _read_env(env_file)
        assert values["TERRITORY_CRM"] == "hubspot" and Path(values["TERRITORY_CA_FILE"]).exists()
        base = values["TERRITORY_EMULATOR_URL"]
        health = _get_json(base + "/_emulator/health")
        assert health["ok"] is True and set(health["flavours"]) == {"salesforce", "hubspot"}
        state = _get_json(base + "/_emulator/state")
        assert state["counts"]["accounts"]["total"] == 400

        status = runner.invoke(app, ["sandbox", "status", "--env-file", str(env_file)])
        assert status.exit_code == 0 and "total 400" in status.output
        mutated = runner.invoke(app, ["sandbox", "mutate", "--fraction", "0.05", "--env-file", str(env_file), "--json"])
        assert mutated.exit_code == 0
        assert sum(json.loads(mutated.output)["accounts"].values()) >= 20
        faults = runner.invoke(app, ["sandbox", "faults", "--rate", "0.5", "--url", base])
        assert faults.exit_code == 0 and "rate 0.5" in faults.output
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "CRM emulator running" in output and str(env_file) in output
    assert "set -a; ." in output and "territory sync" in output and "Emulator stopped" in output
    assert Path(values["TERRITORY_CA_FILE"]).exists(), "the CA copy outlives the server"


def test_wait_gives_up_with_exit_2_when_nothing_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sandbox", "wait", "--env-file", str(tmp_path / "never.env"),
                                      "--timeout", "0.3"])
    assert result.exit_code == 2 and "no emulator answered" in result.output


def test_serve_exits_2_when_the_env_file_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(app, ["sandbox", "serve", "--accounts", "5", "--env-file", str(blocker / "x.env")])
    assert result.exit_code == 2 and "cannot write the env file" in result.output
    assert "Emulator stopped" in result.output
