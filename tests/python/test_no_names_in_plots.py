"""plots/ names no backend: every registry row, raw mechanism and server engine is chosen by a
fact of the run's `pollbench_registry` or `pollbench_scenarios`, never by a string literal in
the code, so a new row is reported with no change in plots/ (docs/adding-a-backend.md). Checked
over every string constant of plots/*.py that is not a docstring — a whole literal, or one
`/`-separated segment of one ("dispatch/epoll_lt"). The names come from the built binaries
when there are any, else from the test data (tests/data/registry.json, gbfake's engines).
Stdlib + pytest."""

import ast
import glob
import json
import os
import subprocess

import gbfake
from benchbin import LIST, ROOT

PLOTS = os.path.join(ROOT, "plots")
REGISTRY = os.path.join(os.path.dirname(__file__), "..", "data", "registry.json")
SERVER = os.path.join(ROOT, "build", "release", "pollbench-server")


def names_to_refuse() -> set:
    with open(REGISTRY, encoding="utf-8") as f:
        rows = json.load(f)
    names = {r["name"] for r in rows} | {r["raw_floor"] for r in rows if r["raw_floor"]}
    names |= set(gbfake.SERVER_ENGINES)
    if os.access(SERVER, os.X_OK):  # every loop the built server knows: rows and engines
        out = subprocess.run([SERVER, "loops"], capture_output=True, text=True, timeout=60,
                             check=True).stdout
        names |= {line.split()[0] for line in out.splitlines() if line.strip()}
    if os.access(LIST, os.X_OK):
        out = subprocess.run([LIST], capture_output=True, text=True, timeout=60,
                             check=True).stdout
        names |= {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    return names


def docstrings(tree: ast.AST) -> set:
    """The ids of the string constants that are a module's, class's or function's docstring."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def literals_naming(source: str, names: set) -> list:
    """[(line, literal)] of the string constants of `source` that are, or have a
    `/`-separated segment that is, one of `names`."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip):
            if node.value in names or names & set(node.value.split("/")):
                found.append((node.lineno, node.value))
    return found


def test_no_plots_module_names_a_backend_or_an_engine():
    names = names_to_refuse()
    assert {"epoll_lt", "select", "uring_recv_send"} <= names, sorted(names)
    found = []
    for path in sorted(glob.glob(os.path.join(PLOTS, "*.py"))):
        with open(path, encoding="utf-8") as f:
            for line, text in literals_naming(f.read(), names):
                found.append(f"plots/{os.path.basename(path)}:{line}: {text!r}")
    assert not found, ("backend or engine names as literals in plots/ (choose rows by a fact "
                       "of the run's registry instead):\n" + "\n".join(found))


def test_the_check_finds_a_name_in_code_but_not_in_a_docstring():
    source = ('"""dispatch/epoll_lt is an example."""\n'
              'BASE = "epoll_lt"\n'
              'NAME = f"dispatch/select/{1}"\n'
              'def f():\n    """select: prose."""\n    return "selection"\n')
    assert literals_naming(source, {"epoll_lt", "select"}) == [(2, "epoll_lt"),
                                                               (3, "dispatch/select/")]
