"""Progress lines: the first step, at most one line per interval, the last step; silenced by ASTROBIO_PROGRESS=0."""

from __future__ import annotations

import io

from astrobio_hf.progress import Progress, human_bytes


def test_lines_are_throttled_and_the_last_is_always_printed(monkeypatch):
    clock = iter([0.0, 0.1, 0.2, 0.3, 6.0, 6.1])  # start, then one reading per step
    monkeypatch.setattr("astrobio_hf.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    progress = Progress(5, "climate generator", unit="planets", every_s=5.0, stream=out)
    for _ in range(5):
        progress.step()
    lines = out.getvalue().splitlines()
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == ["1/5 planets", "4/5 planets", "5/5 planets"]
    assert lines[0].startswith("[progress] climate generator: 1/5 planets (20%), ") and "s left" in lines[0]
    assert lines[-1] == "[progress] climate generator: 5/5 planets (100%) in 6.1 s"


def test_silenced_by_the_environment(monkeypatch):
    monkeypatch.setenv("ASTROBIO_PROGRESS", "0")
    out = io.StringIO()
    Progress(2, "x", stream=out).step()
    assert out.getvalue() == ""
    assert human_bytes(1_300_000) == "1.3 MB" and human_bytes(512) == "512 B"
