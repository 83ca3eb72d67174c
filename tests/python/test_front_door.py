"""The ./pollbench front door: usage errors, help, and the backend list."""

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


def test_no_arguments_prints_usage_and_fails():
    result = pollbench()
    assert result.returncode == 2
    assert "Usage:" in result.stdout + result.stderr


def test_list_shows_every_core_backend_with_its_availability():
    result = pollbench("list")
    assert result.returncode == 0, result.stderr
    rows = backend_table(result.stdout)
    for name in ("select", "poll", "epoll_lt", "epoll_et"):
        assert rows.get(name) == "yes", result.stdout
    assert "socketpairs" in result.stdout
