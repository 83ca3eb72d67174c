"""pollbench-load, the fixed-rate load generator (tools/load.cpp), against the real
pollbench-server and against small servers on threads here that stall, close, drop, dribble or
refuse. What is checked is counted, not timed: requests sent against the schedule, replies and
errors against what the server saw; the latency bounds are lower bounds that a stall imposes
(a reply 300 ms late cannot be measured under 250 ms), never an upper bound of this machine.
"""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from benchbin import ROOT

LOAD = os.path.join(ROOT, "build", "release", "pollbench-load")
SERVER = os.path.join(ROOT, "build", "release", "pollbench-server")

needs_load = pytest.mark.skipif(not os.access(LOAD, os.X_OK),
                                reason="build/release/pollbench-load not built")

FIELDS = ("offered_rps duration_s conns scheduled sent replies reply_rps errors unanswered "
          "late_sends client_late_sends reconnects connect_errors p50_ns p90_ns p99_ns p999_ns max_ns user_ns "
          "sys_ns").split()

MS = 1_000_000


def run_load(port, *args, timeout=30):
    return subprocess.run([LOAD, "--port", str(port), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def load(port, *args, timeout=30):
    """The tool's result line as {field: number}; the run must succeed and add up."""
    out = run_load(port, *args, timeout=timeout)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("load "), out.stdout
    got = {}
    for word in lines[0].split()[1:]:
        name, value = word.split("=")
        got[name] = float(value) if name in ("offered_rps", "duration_s", "reply_rps") else int(value)
    assert list(got) == FIELDS
    assert got["sent"] <= got["scheduled"]
    assert got["replies"] + got["errors"] + got["unanswered"] == got["scheduled"]
    assert got["client_late_sends"] <= got["late_sends"] <= got["sent"]
    if got["replies"]:
        assert 0 < got["p50_ns"] <= got["p90_ns"] <= got["p99_ns"] <= got["p999_ns"] \
            <= got["max_ns"]
    return got


class TinyServer:
    """A loopback HTTP/1.1 server, one thread per connection. Each request (read to its blank
    line) is answered after `delay` s with `body`; close: with "Connection: close", then closed
    (close_delay s later: it reads no further request meanwhile, as a server need not);
    no_length: without Content-Length, the body ended by closing; drop_every N: every Nth
    request is not answered, its connection closed; dribble: the response is written a few
    bytes at a time; status: the status code. Counts what it saw."""

    def __init__(self, delay=0.0, close=False, close_delay=0.0, no_length=False, drop_every=0,
                 dribble=False, status=200, body=b"Hello, world\n"):
        self.delay, self.close_each, self.no_length = delay, close, no_length
        self.close_delay = close_delay
        self.drop_every, self.dribble = drop_every, dribble
        head = f"HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\n"
        if no_length or close:
            head += "Connection: close\r\n"
        if not no_length:
            head += f"Content-Length: {len(body)}\r\n"
        self.response = head.encode() + b"\r\n" + body
        self.lock = threading.Lock()
        self.requests = 0
        self.dropped = 0
        self.accepted = 0
        self.arrivals = []
        self.stop = threading.Event()
        self.conns = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1024)
        self.port = self.listener.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self.listener.close()
        with self.lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in list(self.threads):
            t.join(timeout=10)
            assert not t.is_alive()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.append(conn)
                t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self.threads.append(t)
            t.start()

    def _serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(4096)
                    if not data:
                        return
                    buf += data
                _, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.requests += 1
                    self.arrivals.append(time.monotonic())
                    drop = self.drop_every and self.requests % self.drop_every == 0
                    self.dropped += bool(drop)
                if drop or (self.delay and self.stop.wait(self.delay)):
                    return
                if self.dribble:
                    for i in range(0, len(self.response), 7):
                        conn.sendall(self.response[i:i + 7])
                        time.sleep(0.0005)
                else:
                    conn.sendall(self.response)
                if self.close_each or self.no_length:
                    self.stop.wait(self.close_delay)
                    return
        except OSError:
            return
        finally:
            conn.close()


def closed_port():
    """A loopback port with nobody listening (bound, so no one else takes it meanwhile)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


# --- against the real server -----------------------------------------------------------------

@needs_load
@pytest.mark.skipif(not os.access(SERVER, os.X_OK), reason="pollbench-server not built")
def test_the_real_server_answers_every_request_at_a_modest_rate():
    server = subprocess.Popen([SERVER, "serve", "epoll_lt"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().split()
        assert line[0] == "listening"
        got = load(line[1], "--rate", 2000, "--conns", 16, "--duration", 1, "--warmup", 0.2)
        server.stdin.write("stats\n")
        server.stdin.flush()
        stats = server.stdout.readline().split()
    finally:
        server.stdin.close()
        assert server.wait(timeout=30) == 0
    assert got["offered_rps"] == 2000 and got["conns"] == 16
    assert got["scheduled"] == 2000
    assert got["sent"] == got["replies"] == 2000
    assert got["errors"] == got["unanswered"] == got["reconnects"] == 0
    assert 1000 <= got["reply_rps"] <= 3000
    assert stats[0] == "stats"
    assert int(stats[1]) == 2400  # what the server served: warm-up and measured requests
    assert int(stats[2]) == 16    # accepted: one connection each, kept alive throughout
    assert got["user_ns"] + got["sys_ns"] > 0


# --- the schedule is kept when replies are late ---------------------------------------------

@needs_load
def test_a_stalled_server_does_not_slow_the_schedule_and_its_stall_is_in_the_latency():
    # Every reply 300 ms late. With 100 connections (60 needed) a fixed-rate client still sends
    # 200 requests over the second; a closed-loop one with these connections would send in a
    # burst and wait, and one with 4 would send at most 4 / 0.3 s.
    with TinyServer(delay=0.3) as srv:
        got = load(srv.port, "--rate", 200, "--conns", 100, "--duration", 1)
        arrivals = sorted(srv.arrivals)
        assert srv.requests == 200
    assert got["scheduled"] == got["sent"] == got["replies"] == 200
    assert got["errors"] == 0
    assert got["p50_ns"] >= 250 * MS and got["p99_ns"] >= 250 * MS
    # spread over the schedule (995 ms from first to last), not sent at once
    assert arrivals[-1] - arrivals[0] >= 0.6


@needs_load
def test_a_request_waiting_for_a_connection_counts_its_wait_from_the_schedule():
    # 2 connections, each busy 300 ms per reply, 100 requests due in 1 s: they queue. Latency
    # from the send would be ~300 ms; from the schedule it grows by 150 ms per reply.
    with TinyServer(delay=0.3) as srv:
        got = load(srv.port, "--rate", 100, "--conns", 2, "--duration", 1, "--drain", 1.5)
        served = srv.requests
    assert got["scheduled"] == 100
    assert 0 < got["replies"] <= got["sent"] < 100  # most were never sent
    assert got["sent"] - 2 <= served <= got["sent"]  # the last two may still be in transit
    assert got["errors"] == 0 and got["unanswered"] == 100 - got["replies"]
    assert got["late_sends"] >= got["sent"] - 2   # all but the first two waited,
    assert got["client_late_sends"] <= 2          # for a connection, not for the client
    assert got["p99_ns"] >= 600 * MS              # twice the stall: the wait is counted


@needs_load
def test_a_stopped_client_counts_the_stop_in_the_latency_and_as_its_own_lateness():
    # The generator itself stopped (SIGSTOP) for 300 ms mid-schedule, connections idle: the ~60
    # requests due meanwhile go out late when it resumes, and their latency counts from when
    # they were due. Measured from the send, nothing would show. 100 connections, so that the
    # backlog finds idle ones (with fewer, what exceeds them waits for replies and counts as
    # waiting for a connection).
    with TinyServer() as srv:
        proc = subprocess.Popen([LOAD, "--port", str(srv.port), "--rate", "200", "--conns", "100",
                                 "--duration", "2"], stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while srv.requests < 20 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert srv.requests >= 20, "the schedule did not start"
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            proc.send_signal(signal.SIGCONT)
            out, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    got = dict(w.split("=") for w in out.split()[1:])
    assert int(got["sent"]) == int(got["replies"]) == 400
    assert int(got["client_late_sends"]) >= 30
    assert int(got["p99_ns"]) >= 200 * MS


@needs_load
def test_a_server_that_never_answers_ends_the_run_at_the_drain():
    with TinyServer(delay=60) as srv:
        start = time.monotonic()
        got = load(srv.port, "--rate", 50, "--conns", 4, "--duration", 0.5, "--drain", 0.5)
        took = time.monotonic() - start
    assert got["scheduled"] == 25 and got["sent"] == 4
    assert got["replies"] == got["errors"] == 0 and got["unanswered"] == 25
    assert got["p99_ns"] == got["max_ns"] == 0
    assert took < 20  # bounded: 1 s of schedule and drain, with room for a busy machine


# --- warm-up ---------------------------------------------------------------------------------

@needs_load
def test_warm_up_requests_are_sent_but_not_counted():
    with TinyServer() as srv:
        got = load(srv.port, "--rate", 100, "--conns", 4, "--duration", 1, "--warmup", 0.5)
        served = srv.requests
    assert served == 150
    assert got["scheduled"] == got["sent"] == got["replies"] == 100


# --- connections that end, responses in pieces, failures -------------------------------------

@needs_load
@pytest.mark.parametrize("close_delay", [0, 0.2])
def test_connection_close_replies_are_counted_and_the_connection_reopened(close_delay):
    # With close_delay the server keeps the connection open, unread, 200 ms after its
    # "Connection: close" reply: a client that waited for the end of the connection instead of
    # reading the header would send requests there that are never answered.
    with TinyServer(close=True, close_delay=close_delay) as srv:
        got = load(srv.port, "--rate", 200, "--conns", 4, "--duration", 1)
        accepted = srv.accepted
    assert got["scheduled"] == got["sent"] == got["replies"] == 200
    assert got["errors"] == got["unanswered"] == 0
    assert got["reconnects"] >= 200
    assert accepted >= 200


@needs_load
def test_a_body_without_content_length_ends_with_the_connection():
    with TinyServer(no_length=True, body=b"x" * 500) as srv:
        got = load(srv.port, "--rate", 100, "--conns", 4, "--duration", 1)
    assert got["scheduled"] == got["sent"] == got["replies"] == 100
    assert got["errors"] == 0 and got["reconnects"] >= 100


@needs_load
def test_a_response_in_small_pieces_with_a_longer_body_is_read_whole():
    with TinyServer(dribble=True, body=b"y" * 300) as srv:
        got = load(srv.port, "--rate", 50, "--conns", 8, "--duration", 1)
    assert got["scheduled"] == got["sent"] == got["replies"] == 50
    assert got["errors"] == got["reconnects"] == 0


@needs_load
def test_requests_whose_connection_closes_unanswered_are_errors():
    with TinyServer(drop_every=5) as srv:
        got = load(srv.port, "--rate", 100, "--conns", 4, "--duration", 1)
        dropped, served = srv.dropped, srv.requests
    assert served == got["sent"] == got["scheduled"] == 100
    assert dropped == 20
    assert got["errors"] == dropped
    assert got["replies"] == 100 - dropped and got["unanswered"] == 0
    assert got["reconnects"] >= dropped


@needs_load
def test_a_status_other_than_200_is_an_error_not_a_reply():
    with TinyServer(status=503) as srv:
        got = load(srv.port, "--rate", 100, "--conns", 2, "--duration", 0.5)
    assert got["sent"] == got["errors"] == 50
    assert got["replies"] == 0 and got["reply_rps"] == 0


# --- command line and setup errors -----------------------------------------------------------

@needs_load
@pytest.mark.parametrize("args", [
    [],
    ["--port", "80"],
    ["--port", "0", "--rate", "10", "--conns", "1", "--duration", "1"],
    ["--port", "70000", "--rate", "10", "--conns", "1", "--duration", "1"],
    ["--port", "80", "--rate", "0", "--conns", "1", "--duration", "1"],
    ["--port", "80", "--rate", "fast", "--conns", "1", "--duration", "1"],
    ["--port", "80", "--rate", "nan", "--conns", "1", "--duration", "1"],
    ["--port", "80", "--rate", "10", "--conns", "0", "--duration", "1"],
    ["--port", "80", "--rate", "10", "--conns", "2.5", "--duration", "1"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "-1"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "1", "--warmup", "x"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "1", "--cpu", "-1"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "1", "--host", "10.0.0.1"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "1", "--pipeline", "4"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration", "1", "extra"],
    ["--port", "80", "--rate", "10", "--conns", "1", "--duration"],
    ["--port", "80", "--rate", "1", "--conns", "1", "--duration", "0.5"],  # < 1 request
])
def test_a_bad_command_line_is_one_line_and_exit_2(args):
    out = subprocess.run([LOAD, *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith("pollbench-load: ")


@needs_load
def test_a_refused_connect_is_one_line_and_exit_1():
    sock, port = closed_port()
    with sock:
        out = run_load(port, "--rate", 10, "--conns", 2, "--duration", 1)
    assert out.returncode == 1
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith(f"pollbench-load: connect(127.0.0.1:{port}) (connection 1 of 2)")
