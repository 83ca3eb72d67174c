"""Chart plumbing: fixed backend styles and atomic writes."""

import os

import pytest

charts = pytest.importorskip("charts")  # needs matplotlib; ./pollbench test provides it


def test_known_backends_keep_their_fixed_distinct_styles():
    known = ["select", "poll", "epoll_lt", "epoll_et", "uring_oneshot", "uring_multishot",
             "epoll_oneshot", "libuv"]
    styles = [charts.style(b) for b in known]
    assert len(set(styles)) == len(styles)
    assert charts.style("select") == charts.BACKEND_STYLE["select"]


def test_unknown_backends_get_a_stable_fallback():
    s = charts.style("some_future_backend")
    assert s in charts.FALLBACK
    assert charts.style("some_future_backend") == s  # not Python's randomised hash()


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "chart.png"

    def half_write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"\x89PNG half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        charts.atomic_write(str(target), half_write)
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_an_old_file_whole(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("old")

    def write(tmp):
        with open(tmp, "w") as f:
            f.write("new")

    charts.atomic_write(str(target), write)
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["summary.md"]
