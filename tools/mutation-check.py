#!/usr/bin/env python3
"""Would the conformance suite catch a wrong backend? Builds the suite on a copy of the tree
with one deliberate bug at a time (a "mutant") and checks that at least one test fails for
each. Exits 1 if a mutant survives. Takes a few minutes; run it after changing the suite or a
backend:  tools/mutation-check.py
Only some mutants: tools/mutation-check.py WORD...  runs those whose file or bug names one of
the words (e.g. `asio`, `libev_poller`, `event_fill`).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAILED = re.compile(r"^\[  FAILED  \] (\S+/\S+)")

# (file, text, replacement, the bug it plants, the rows whose tests must catch it: a gtest
# filter, so that each mutant runs only the part of the suite it concerns)
EPOLL = "*/epoll_*"
URING = "*/uring_*"
ALL = "*"
MUTANTS = [
    ("backends/poll_poller.cpp", "          cursor_ = i;\n", "", "poll: a full event array always restarts at slot 0", "*/poll"),
    ("backends/poll_poller.cpp", "      slot_of_fd_[static_cast<std::size_t>(fds_[s].fd)] = slot;\n", "", "poll: swap-remove forgets to move the index", "*/poll"),
    ("backends/poll_poller.cpp", ".error = (p.revents & (POLLERR | POLLNVAL)) != 0", ".error = (p.revents & POLLERR) != 0", "poll: POLLNVAL not reported as an error", "*/poll"),
    ("backends/poll_poller.cpp", 'if (fd < 0) throw_errno(EBADF, "poll", "negative fd");', "", "poll: a negative fd accepted", "*/poll"),
    ("backends/poll_poller.cpp", "tokens_[static_cast<std::size_t>(slot)] = token;", "", "poll: modify keeps the old token", "*/poll"),
    ("backends/poll_poller.cpp", ".hangup = (p.revents & (POLLHUP | POLLRDHUP)) != 0,", ".hangup = false,", "poll: hangup never set", "*/poll"),
    ("backends/select_poller.cpp", "std::memcpy(&read_, &master_read_, bytes);", "", "select: the master set is not copied", "*/select"),
    ("backends/select_poller.cpp", "if (errno == EBADF) return report_closed_fds(events);", "", "select: EBADF not turned into error events", "*/select"),
    ("backends/select_poller.cpp", "cursor_ = fd + 1;", "cursor_ = 0;", "select: a full event array always restarts at fd 0", "*/select"),
    ("backends/select_poller.cpp", "const std::int64_t us = (timeout.count() + 999) / 1000;", "const std::int64_t us = timeout.count() / 1000000 * 1000;", "select: timeout truncated to whole ms", "*/select"),
    ("backends/select_poller.cpp", 'if (fd > detail::kFdSetMaxFd) throw_bad_fd_range("select", fd, detail::kFdSetMaxFd);', 'if (fd > 4 * detail::kFdSetMaxFd) throw_bad_fd_range("select", fd, detail::kFdSetMaxFd);', "select: no FD_SETSIZE check", "*/select"),
    ("backends/select_poller.cpp", '    if (!registered(fd)) throw_errno(ENOENT, "select", "modify: fd is not registered");', '    check_fd(fd);\n    if (!registered(fd)) throw_errno(ENOENT, "select", "modify: fd is not registered");', "select: modify of an fd above FD_SETSIZE gives ERANGE, not ENOENT", "*/select"),
    ("backends/epoll_poller.cpp", "if (mode_ == EpollMode::kEdge) events |= EPOLLET;", "", "epoll_et: not edge-triggered", EPOLL),
    ("backends/detail/epoll.hpp", "ev.data.u64 = token;", "ev.data.fd = fd;", "epoll: the fd returned instead of the token", EPOLL),
    ("backends/detail/epoll.hpp", "return {buffer_.data(), std::min(wanted, buffer_.size())};", "return {buffer_.data(), buffer_.size()};", "epoll: the caller's array size ignored", EPOLL),
    ("backends/epoll_poller.cpp", "if ((interest & kWritable) != 0) events |= EPOLLOUT;", "", "epoll: write interest dropped", EPOLL),
    ("backends/epoll_poller.cpp", "if ((interest & kReadable) != 0 && mode_ != EpollMode::kExclusive) events |= EPOLLRDHUP;", "", "epoll: a half-close not asked for (no EPOLLRDHUP)", EPOLL),
    ("backends/epoll_poller.cpp", "if (mode_ == EpollMode::kExclusive) events |= EPOLLEXCLUSIVE;  // quirk h", "if (mode_ == EpollMode::kExclusive) events |= EPOLLEXCLUSIVE | EPOLLRDHUP;", "epoll_exclusive: EPOLLRDHUP with EPOLLEXCLUSIVE (EINVAL)", EPOLL),
    ("backends/epoll_oneshot_poller.cpp", "    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {", "    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != EBADF) {", "epoll_oneshot: remove of a closed fd forgets its token while a dup keeps it reported", EPOLL),
    ("backends/epoll_oneshot_poller.cpp", "    rearm_reported();\n", "", "epoll_oneshot: never re-armed", EPOLL),
    ("backends/uring_poller.cpp", "if (may_lose_eintr && rc >= 0 && reaped == 0) {", "if (may_lose_eintr && rc >= 0 && reaped == 0 && false) {", "io_uring: a signal lost when the wait also submitted", URING),
    ("backends/uring_poller.cpp", "    if ((flags & IORING_CQE_F_MORE) == 0) schedule_rearm(index);", "    if ((flags & IORING_CQE_F_MORE) == 0 && res != -ECANCELED) schedule_rearm(index);", "io_uring: polls cancelled by an exiting thread never re-armed", URING),
    ("backends/uring_poller.cpp", ".error = s.error || (s.pending & (POLLERR | POLLNVAL)) != 0};", ".error = s.error};", "io_uring: POLLERR not reported as an error", URING),
    ("backends/libuv_poller.cpp", ".hangup = (what & UV_DISCONNECT) != 0,", ".hangup = false,", "libuv: hangup never set", "*/libuv"),
    ("backends/detail/event_fill.hpp", "return count_ > 0 && count_ < out_.size();", "return false;", "library adapters: a wait that delivered kept events returns them alone, with room left", "*/lib*"),
    ("backends/libevent_poller.cpp", "    while (epoll_ && fill_.may_have_more(kEpollFirstBatch)) {", "    while (false) {", "libevent_epoll: no further pass when libevent's epoll array may have been full", "*/libevent_epoll"),
    ("backends/libev_poller.cpp", "    while (epoll_ && fill_.may_have_more(kEpollFirstBatch)) pass(EVRUN_NOWAIT);", "", "libev_epoll: no further pass when libev's epoll array may have been full", "*/libev_epoll"),
    ("backends/libev_poller.cpp", "    if ((revents & EV_ERROR) != 0 && !s.owner->probe_fds_) ev_io_start(loop, io);\n", "    (void)loop;\n", "libev_select: a closed fd's stopped watcher not started again (error reported once)", "*/libev_select"),
    ("backends/asio_poller.cpp", "      } else if (armed_ == 0) {  // quirk h: run_one_for would return at once, again and again\n        std::this_thread::sleep_for(left);\n        return true;\n", "", "asio: no empty-poller guard on a bounded wait (it spins)", "*/asio_*"),
    ("backends/asio_poller.cpp", "} else if (++closing_ >= kMaxClosing) {", "} else if (++closing_ >= kMaxClosing * 1000) {", "asio: removed slots freed only by a wait (churn grows the heap)", "*/asio_*"),
    ("backends/registry.cpp", ".reports_after_close_while_file_open = false},", ".reports_after_close_while_file_open = true},", "epoll_oneshot: claims a dup'd file's token is reported after close (its re-arm fails)", "*/epoll_oneshot"),
    ("backends/poller.cpp", "const std::int64_t ms = (timeout.count() + kNsPerMs - 1) / kNsPerMs;", "const std::int64_t ms = timeout.count() / kNsPerMs;", "timeouts rounded down to ms", ALL),
    ("backends/poller.hpp", "    if (timeout > kLongestTimeout) timeout = kBlock;\n", "", "a timeout too long to represent is passed on (overflows)", ALL),
    ("backends/poller.hpp", "    if (busy_.exchange(true, std::memory_order_acquire)) return -EBUSY;\n", "    busy_.store(true);\n", "overlapping waits not refused", ALL),
]


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def main():
    words = sys.argv[1:]
    mutants = [m for m in MUTANTS if not words or any(w in m[0] or w in m[3] for w in words)]
    if not mutants:
        sys.exit(f"mutation-check: no mutant names any of {words}")
    work = tempfile.mkdtemp(prefix="pollbench-mutants-")
    try:
        files = run(["git", "ls-files"], ROOT).stdout.split()
        for f in files:
            os.makedirs(os.path.join(work, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(work, f))
        build = os.path.join(work, "b")
        # Optimised, but without NDEBUG: the checked build, so that the overlap case runs too.
        cfg = run(["cmake", "-S", ".", "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                   "-DCMAKE_CXX_FLAGS_RELEASE=-O1", "-DPOLLBENCH_BUILD_BENCH=OFF"], work)
        if cfg.returncode != 0:
            sys.exit("mutation-check: configure failed:\n" + cfg.stderr[-2000:])
        target = ["cmake", "--build", build, "--target", "conformance_test"]
        if run(target, work).returncode != 0:
            sys.exit("mutation-check: the unmutated suite does not build")
        survivors = 0
        for path, old, new, bug, rows in mutants:
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
                            "--gtest_brief=1", "--gtest_fail_fast", f"--gtest_filter={rows}"],
                           work)
                failed = sorted({m.group(1) for m in map(FAILED.match, test.stdout.splitlines())
                                 if m})
                if test.returncode != 0:
                    print(f"killed    {bug}: by {failed[0] if failed else 'a crash'}")
                else:
                    print(f"SURVIVED  {bug}")
                    survivors += 1
            finally:
                with open(full, "w") as f:
                    f.write(original)
        print(f"{len(mutants) - survivors} of {len(mutants)} mutants killed")
        return 1 if survivors else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
