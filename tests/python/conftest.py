"""Shared fixtures for the plots/ tests: import path, synthetic runs, running report.py."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOTS = os.path.join(ROOT, "plots")
DATA = os.path.join(ROOT, "tests", "data")
REPORT = os.path.join(PLOTS, "report.py")
sys.path.insert(0, PLOTS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gbfake  # noqa: E402


def write_json(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
    return str(path)


@pytest.fixture
def fake_run(tmp_path):
    """A complete synthetic sweep in results/<run>/results.json layout."""
    return write_json(tmp_path / "20260101-000000-vm" / "results.json", gbfake.full_run())


def run_report(*args, env=None, cwd=None):
    """report.py under this interpreter; returns CompletedProcess with text output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, REPORT, *map(str, args)], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=300)
