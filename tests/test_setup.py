"""The set-up a new user runs: `make run` needs nothing but Python (no npm), serves on the port asked
for, and the package's metadata is what current setuptools accepts without a warning."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -B: every rule counts as out of date, so the dry run prints the whole set-up of a fresh machine.
    done = subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def test_make_run_sets_up_without_npm_and_serves_on_the_port_asked_for():
    commands = _make_dry_run("run", "PORT=5001")
    assert "npm" not in commands
    assert "--port 5001" in commands and "127.0.0.1:5001" in commands


def test_make_run_serves_on_5000_by_default():
    assert "--port 5000" in _make_dry_run("run")


def test_make_test_sets_up_without_npm():
    assert "npm" not in _make_dry_run("test")


def test_the_license_is_an_spdx_expression_that_setuptools_takes_without_a_warning():
    # A TOML table here makes setuptools (>=77) print a deprecation warning on every install.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]  # the first to take the SPDX string
