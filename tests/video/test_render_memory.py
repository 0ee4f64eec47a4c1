"""Issue 17: a render's processes and scratch files together stay under 500 MB, and its scratch goes.

The sample at full size (1920×1080, ~170 s of programme), rendered in a fresh process as a
worker renders it, sampled from outside every 20 ms (hub.testing.render_memory says what is
counted: PSS of the render's process tree plus its scratch folders' bytes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.renderers.video.package import scratch_parents, scratch_prefix
from hub.settings import PROJECT_ROOT
from hub.testing.render_memory import measure_render

SAMPLE = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
BOUND_MB = 500.0


@pytest.mark.slow
def test_rendering_the_sample_takes_at_most_500_mb_with_every_process_and_scratch_file_counted(
        tmp_path: Path) -> None:
    m = measure_render(SAMPLE, tmp_path / "out")
    assert m.report["qc_pass"] is True and m.report["seconds"] > 60
    assert m.samples > 50, "the sampler must have watched the render, not only its start"
    assert m.peak_processes_mb > m.report["baseline_mb"], "the render's own processes were seen"
    assert m.peak_mb <= BOUND_MB, (m.peak_mb, m.peak_processes_mb, m.peak_scratch_mb)
    pid = m.report["pid"]
    assert not [d for p in scratch_parents() for d in p.glob(f"{scratch_prefix(pid)}*")], "scratch removed"
