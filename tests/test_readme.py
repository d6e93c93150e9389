"""The README's shell commands and Python snippets paste and run as written.

Every line of every ```bash block is a command. All of them must pass ``bash -n`` and name scripts and
modules that exist. The command-line examples (``python -m qa ...``) are run for real and must exit 0
without a traceback. The rest are not run here, for the reason ``skip_reason`` gives: installs (they
change the environment and need the registries: `.ci/run` runs the set-up commands), servers that
run until stopped, commands that need the network, and evaluations, benchmarks and training that take
minutes to hours (their own tests cover them).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
LONG = ("koleksi-berita", "eval/evaluate.py", "eval/agreement.py", "eval/scale.py", "eval/bench.py", "eval/memory.py",
        "eval/loadtest.py", "qa.training", "qa.train", "qa.export")


#: Collections the README's examples make in the repository folder: removed before and after this module.
MADE = ("koleksi", "arsip", "arsip.db")


@pytest.fixture(scope="module", autouse=True)
def _no_collections_left():
    import shutil

    for name in MADE:
        shutil.rmtree(ROOT / name, ignore_errors=True)
    yield
    for name in MADE:
        shutil.rmtree(ROOT / name, ignore_errors=True)


def commands() -> list[str]:
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        lines += [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def skip_reason(command: str) -> str | None:
    """Why a README command is not run by this test (None: it is run)."""
    if re.search(r"\b(pip|apt-get|apt)\s+install\b|-m venv", command):
        return "installs packages"
    if re.search(r"\bapp\.py\b", command):
        return "starts a server that runs until stopped"
    if "://" in command:
        return "needs the network"
    if any(name in command for name in LONG):
        return "takes minutes to hours"
    return None


def test_readme_has_commands_of_each_kind():
    kinds = {skip_reason(c) for c in commands()}
    assert None in kinds and "installs packages" in kinds, kinds


@pytest.mark.parametrize("command", commands())
def test_command_parses_and_names_what_exists(command):
    syntax = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    for word in shlex.split(command, comments=True):
        if word.endswith(".py"):
            assert (ROOT / word).is_file(), f"{word} does not exist"
    for module in re.findall(r"python3? -m (qa[\w.]*)", command):
        path = ROOT / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), f"no module {module}"


RUN = [c for c in commands() if skip_reason(c) is None]


@pytest.mark.slow
@pytest.mark.parametrize("command", RUN)
def test_command_runs(command):
    out = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and "Traceback" not in out.stderr, f"{command}\n{out.stdout[-2000:]}{out.stderr[-2000:]}"


PYTHON = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.slow
@pytest.mark.parametrize("snippet", [s for s in PYTHON if "gradio_client" not in s])
def test_python_snippet_runs(snippet):
    """The API block, pasted into Python in the repository folder (the gradio_client one needs the app
    running: ``tests/test_app.py::test_gradio_client_chat`` makes the same calls)."""
    out = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]


def test_every_python_snippet_is_checked():
    assert PYTHON and all(compile(s, "README.md", "exec") for s in PYTHON)
