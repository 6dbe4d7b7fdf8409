"""The command line: ``python -m playground.engine DESIGN.json|yaml [--seed N] [--duration S]
[--frames]``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from playground.engine.__main__ import main
from tests.engine.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
HAS_SIMULATION = importlib.util.find_spec("playground.engine.simulation") is not None


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground.engine", *args], cwd=ROOT,
                          capture_output=True, text=True, input=stdin, timeout=120)


@pytest.fixture
def design(tmp_path):
    def write(obj, name="design.json"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(obj) if name.endswith((".yaml", ".yml"))
                        else json.dumps(obj))
        return str(path)
    return write


@pytest.fixture
def fake_simulation(monkeypatch):
    """Stands in for simulation.run, recording what the CLI passed it."""
    calls = []

    def run(document, seed=None, frames=False):
        calls.append((document, seed, frames))
        return {"summary": {"seed": seed, "z": 1, "a": 2}, "frames": [{"seq": 1}]}

    module = types.ModuleType("playground.engine.simulation")
    module.run = run
    monkeypatch.setitem(sys.modules, "playground.engine.simulation", module)
    return calls


def test_a_file_that_does_not_validate_exits_2_with_one_line_per_problem(design, example):
    example["nodes"][2]["params"]["workers"] = 0
    example["edges"][3]["calls"] = -1
    done = cli(design(example))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["nodes[2].params.workers: must be >= 1",
                                        "edges[3].calls: must be >= 0"]


def test_a_file_that_does_not_parse_exits_2(design, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"nodes": [')
    done = cli(str(path))
    assert done.returncode == 2
    assert done.stderr.startswith("(document): invalid JSON at line 1")


def test_a_yaml_file_that_does_not_validate_names_the_field(design, example):
    example["nodes"][0]["params"]["rps"] = "lots"
    done = cli(design(example, "design.yaml"))
    assert done.returncode == 2
    assert done.stderr == "nodes[0].params.rps: must be a number, not a string\n"


def test_a_missing_file_exits_2(tmp_path):
    done = cli(str(tmp_path / "nowhere.json"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_overrides_apply_before_validation(design):
    done = cli(design(EXAMPLE), "--duration", "30", "--seed", "-1")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert "scenario.seed: must be >= 0" in lines
    assert "scenario.events[0].at_s: must be within the run (< duration_s, 30)" in lines
    assert "scenario.traffic[0].at_s: must be within the run (< duration_s, 30)" in lines


def test_the_cli_allows_fifty_million_expected_requests(design, example, fake_simulation,
                                                        capsys):
    example["nodes"][0]["params"]["rps"] = 400_000  # 400,000 x 230 s = 92 M
    assert main([design(example)]) == 2
    assert "limit is 50,000,000" in capsys.readouterr().err
    example["nodes"][0]["params"]["rps"] = 200_000  # 46 M: over the site's cap, under the CLI's
    assert main([design(example)]) == 0


def test_the_summary_is_printed_as_json_with_sorted_keys(design, fake_simulation, capsys):
    assert main([design(EXAMPLE), "--seed", "9"]) == 0
    out = capsys.readouterr().out
    assert out == '{"summary": {"a": 2, "seed": 9, "z": 1}}\n'
    document, seed, frames = fake_simulation[0]
    assert (seed, frames) == (9, False)
    assert document.scenario.seed == 9


def test_frames_are_printed_with_frames(design, fake_simulation, capsys):
    assert main([design(EXAMPLE), "--frames", "--duration", "90"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == [{"seq": 1}]
    assert fake_simulation[0][0].scenario.duration_s == 90


def test_standard_input_is_read_with_a_dash(fake_simulation, capsys, monkeypatch):
    import io

    stdin = types.SimpleNamespace(buffer=io.BytesIO(json.dumps(EXAMPLE).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["-"]) == 0


@pytest.mark.skipif(not HAS_SIMULATION, reason="playground/engine/simulation.py not written yet")
def test_a_valid_design_runs_and_prints_its_summary(design):
    small = json.loads(json.dumps(EXAMPLE))
    small["nodes"][0]["params"]["workflow"] = "stateless"
    small["nodes"][2]["params"]["state"] = "none"
    small["scenario"].update(duration_s=20, warmup_s=0, traffic=[], events=[
        {"at_s": 5, "action": "slowdown", "node": "db", "factor": 2, "duration_s": 5}])
    done = cli(design(small), "--seed", "3", "--frames")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"summary", "frames"}
    assert out["summary"]["seed"] == 3
    assert len(out["frames"]) == 20
    assert done.stdout == json.dumps(out, sort_keys=True) + "\n"
    assert cli(design(small), "--seed", "3", "--frames").stdout == done.stdout
