"""The ./pollbench front door: usage errors, help, and the backend list."""

import os
import re
import subprocess

from benchbin import POLLBENCH, ROOT, backend_table


def pollbench(*args):
    return subprocess.run([POLLBENCH, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, stdin=subprocess.DEVNULL)


def assert_one_line_usage_error(result, needle):
    assert result.returncode == 2, result
    first = result.stderr.splitlines()[0]
    assert first.startswith("pollbench: ") and needle in first, result.stderr
    assert result.stdout == ""


def test_unknown_command_is_a_usage_error():
    assert_one_line_usage_error(pollbench("frobnicate"), "unknown command 'frobnicate'")


def test_unknown_option_is_a_usage_error():
    assert_one_line_usage_error(pollbench("--frobnicate"), "unknown option '--frobnicate'")


def test_unexpected_argument_to_test_is_a_usage_error():
    assert_one_line_usage_error(pollbench("test", "--fast"), "unexpected argument '--fast'")


def test_help_lists_only_commands_that_dispatch():
    result = pollbench("--help")
    assert result.returncode == 0
    commands = [line.split()[0] for line in result.stdout.splitlines()
                if line.startswith("  ") and not line.startswith("   ") and line.split()]
    assert "test" in commands and "list" in commands
    for command in commands:
        if command in ("help", "POLLBENCH_NO_INSTALL=1", "POLLBENCH_JOBS=N") or "=" in command:
            continue
        # A listed command must not be rejected as unknown.
        probe = pollbench(command, "--no-such-flag-xyz")
        assert "unknown command" not in probe.stderr, (command, probe.stderr)


def test_no_arguments_prints_usage_to_stderr_and_fails():
    result = pollbench()
    assert result.returncode == 2
    assert "Usage:" in result.stderr and result.stdout == ""


def _missing_line(command, tmp_path):
    """What `command` asks to install on a machine with no package installed: a dpkg-query
    that knows nothing comes first on PATH, and POLLBENCH_NO_INSTALL=1 makes even root print
    the line instead of running apt-get."""
    fake = tmp_path / "bin"
    fake.mkdir(parents=True)
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (fake / "dpkg-query").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", POLLBENCH_NO_INSTALL="1")
    result = subprocess.run([POLLBENCH, command], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result
    (line,) = [l for l in result.stderr.splitlines() if "missing Debian packages" in l]
    return line, set(line.split("--no-install-recommends ", 1)[1].split())


def test_each_command_asks_for_what_it_needs_only(tmp_path):
    line, listing = _missing_line("list", tmp_path / "list")
    _, running = _missing_line("run", tmp_path / "run")
    _, testing = _missing_line("test", tmp_path / "test")
    # list builds and runs one program: the build packages, no Python, no test tools.
    assert {"cmake", "g++", "libbenchmark-dev"} <= listing
    assert not listing & {"python3-matplotlib", "python3-pytest", "valgrind", "clang-tidy",
                          "cppcheck", "libgtest-dev"}
    # run: the build, matplotlib, strace (syscalls per event) and wrk (server rows); the test
    # toolchain: test only.
    assert running == listing | {"python3", "python3-matplotlib", "strace", "wrk"}
    assert {"valgrind", "clang-tidy", "cppcheck", "libgtest-dev", "python3-pytest",
            "clang-format"} <= testing - running


def test_the_install_line_works_on_a_fresh_machine_without_sudo(tmp_path):
    line, _ = _missing_line("run", tmp_path)
    assert "as root: apt-get update && apt-get install -y" in line
    assert "sudo" not in line


def test_list_shows_every_core_backend_with_its_availability():
    result = pollbench("list")
    assert result.returncode == 0, result.stderr
    rows = backend_table(result.stdout)
    for name in ("select", "poll", "epoll_lt", "epoll_et"):
        assert rows.get(name) == "yes", result.stdout
    assert "socketpairs" in result.stdout


def test_help_lists_every_run_option_of_the_readme_and_the_pipeline():
    import pipeline
    helped = pollbench("--help").stdout
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    documented = set(re.findall(r"(--[a-z][a-z-]*)",
                                " ".join(re.findall(r"\./pollbench run[^`\n]*", readme))))
    assert documented, "README.md shows no ./pollbench run options"
    for flag in documented | {o.flag for o in pipeline.OPTIONS}:
        assert re.search(rf"^\s+{re.escape(flag)}\b", helped, re.M), flag
