#!/usr/bin/env python3
"""Would the conformance suite catch a wrong backend? Builds the suite on a copy of the tree
with one deliberate bug at a time (a "mutant") and checks that at least one test fails for
each. Exits 1 if a mutant survives. Takes a few minutes; run it after changing the suite or a
backend:  tools/mutation-check.py
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAILED = re.compile(r"^\[  FAILED  \] (\S+/\S+)")

# (file, text, replacement, the bug it plants)
MUTANTS = [
    ("backends/poll_poller.cpp", "          cursor_ = i;\n", "", "poll: a full event array always restarts at slot 0"),
    ("backends/poll_poller.cpp", "      slot_of_fd_[static_cast<std::size_t>(fds_[s].fd)] = slot;\n", "", "poll: swap-remove forgets to move the index"),
    ("backends/poll_poller.cpp", ".error = (p.revents & (POLLERR | POLLNVAL)) != 0", ".error = (p.revents & POLLERR) != 0", "poll: POLLNVAL not reported as an error"),
    ("backends/poll_poller.cpp", 'if (fd < 0) throw_errno(EBADF, "poll", "negative fd");', "", "poll: a negative fd accepted"),
    ("backends/poll_poller.cpp", "tokens_[static_cast<std::size_t>(slot)] = token;", "", "poll: modify keeps the old token"),
    ("backends/select_poller.cpp", "std::memcpy(&read_, &master_read_, bytes);", "", "select: the master set is not copied"),
    ("backends/select_poller.cpp", "if (errno == EBADF) return report_closed_fds(events);", "", "select: EBADF not turned into error events"),
    ("backends/select_poller.cpp", "cursor_ = fd + 1;", "cursor_ = 0;", "select: a full event array always restarts at fd 0"),
    ("backends/select_poller.cpp", "const std::int64_t us = (timeout.count() + 999) / 1000;", "const std::int64_t us = timeout.count() / 1000000 * 1000;", "select: timeout truncated to whole ms"),
    ("backends/select_poller.cpp", 'if (fd >= FD_SETSIZE) throw_bad_fd_range("select", fd, FD_SETSIZE - 1);', 'if (fd >= 4 * FD_SETSIZE) throw_bad_fd_range("select", fd, FD_SETSIZE - 1);', "select: no FD_SETSIZE check"),
    ("backends/epoll_poller.cpp", "if (edge_triggered_) ev.events |= EPOLLET;", "", "epoll_et: not edge-triggered"),
    ("backends/epoll_poller.cpp", "ev.data.u64 = token;", "ev.data.fd = fd;", "epoll: the fd returned instead of the token"),
    ("backends/epoll_poller.cpp", "const std::size_t max = std::min(events.size(), buffer_.size());", "const std::size_t max = buffer_.size();", "epoll: the caller's array size ignored"),
    ("backends/epoll_poller.cpp", "if ((interest & kWritable) != 0) ev.events |= EPOLLOUT;", "", "epoll: write interest dropped"),
    ("backends/poller.cpp", "const std::int64_t ms = (timeout.count() + kNsPerMs - 1) / kNsPerMs;", "const std::int64_t ms = timeout.count() / kNsPerMs;", "timeouts rounded down to ms"),
]


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def main():
    work = tempfile.mkdtemp(prefix="pollbench-mutants-")
    try:
        files = run(["git", "ls-files"], ROOT).stdout.split()
        for f in files:
            os.makedirs(os.path.join(work, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(work, f))
        build = os.path.join(work, "b")
        cfg = run(["cmake", "-S", ".", "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                   "-DPOLLBENCH_BUILD_BENCH=OFF"], work)
        if cfg.returncode != 0:
            sys.exit("mutation-check: configure failed:\n" + cfg.stderr[-2000:])
        target = ["cmake", "--build", build, "--target", "conformance_test"]
        if run(target, work).returncode != 0:
            sys.exit("mutation-check: the unmutated suite does not build")
        survivors = 0
        for path, old, new, bug in MUTANTS:
            full = os.path.join(work, path)
            with open(full) as f:
                original = f.read()
            if old not in original:
                print(f"STALE     {bug}: the text to mutate is gone from {path}")
                survivors += 1
                continue
            with open(full, "w") as f:
                f.write(original.replace(old, new, 1))
            try:
                if run(target, work).returncode != 0:
                    print(f"BUILD     {bug}: did not compile (not a useful mutant)")
                    survivors += 1
                    continue
                test = run(["timeout", "300", os.path.join(build, "tests", "conformance_test"),
                            "--gtest_brief=1"], work)
                failed = sorted({m.group(1) for m in map(FAILED.match, test.stdout.splitlines())
                                 if m})
                if test.returncode != 0:
                    print(f"killed    {bug}: {len(failed)} failing, e.g. {', '.join(failed[:2])}")
                else:
                    print(f"SURVIVED  {bug}")
                    survivors += 1
            finally:
                with open(full, "w") as f:
                    f.write(original)
        print(f"{len(MUTANTS) - survivors} of {len(MUTANTS)} mutants killed")
        return 1 if survivors else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
