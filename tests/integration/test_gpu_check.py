"""benchmarks/gpu/: the dry run (plan, wheels to carry, imports without the packages the GPU image lacks) passes on
CPU, and the runner keeps going when a check crashes or hangs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.train_runs import REPO, train_env

sys.path.insert(0, str(REPO))

from benchmarks.gpu import check  # noqa: E402
from benchmarks.gpu.image import LAZY_OFF_GPU_PATH, TRAVEL_LIMIT_BYTES, WHEELS, imported_names  # noqa: E402


def test_dry_run_passes_on_cpu(tmp_path):
    result = subprocess.run([sys.executable, "benchmarks/gpu/check.py", "--dry-run", "--out", str(tmp_path)],
                            cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "dry_run.json").read_text())
    assert report["ok"]
    assert report["budget"]["allotted_s"] <= report["budget"]["budget_s"] < 480
    wheels = report["wheels"]
    assert [w["name"] for w in wheels["wheels"]] == [w.name for w in WHEELS]
    assert wheels["total_mib"] * 2**20 <= TRAVEL_LIMIT_BYTES
    imports = report["imports"]
    assert imports["blocked"] == ["datasets", "bitsandbytes", "flash_attn", "torchao"]
    assert imports["problems"] == []
    # function-level imports of packages the image lacks: only on paths the checks never take, each with its reason
    lazy = {entry.split(" (")[0] for entry in imports["lazy_imports_not_available"]}
    assert lazy <= set(LAZY_OFF_GPU_PATH), imports["lazy_imports_not_available"]
    plans = imports["plans"]
    assert set(plans) == {"check_attention", "check_throughput", "check_memory", "check_fsdp"}
    assert 1.0e9 < plans["check_throughput"]["parameters"] < 1.2e9  # the "roughly 1B" config
    assert len(plans["check_memory"]["configurations"]) == 3
    assert all(c["fits"] for c in plans["check_memory"]["configurations"])
    assert plans["check_fsdp"]["fsdp_config"]["fsdp_offload_params"] is True


def test_import_audit_sees_function_level_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import torch\nfrom transformers import X\n\ndef f():\n    import bitsandbytes\n")
    assert imported_names(source) == {"module": {"torch", "transformers"}, "lazy": {"bitsandbytes"}}


def test_time_left_by_quick_checks_goes_to_later_ones():
    checks = [("a", "a.py", 10), ("b", "b.py", 20), ("c", "c.py", 30)]
    assert check.timeout_for(0, checks, 60) == 10
    assert check.timeout_for(1, checks, 55) == 25  # a took 5 s of its 10
    assert check.timeout_for(2, checks, 12) == 12  # behind: capped by what is left


@pytest.fixture
def fake_checks(tmp_path, monkeypatch):
    scripts = {
        "good": "import json, sys; json.dump({'check': 'good', 'status': 'ok', 'passed': True}, open(sys.argv[2], 'w'))",
        "crash": "raise SystemExit(3)",
        "hang": "import time; time.sleep(60)",
        "after": "import json, sys; json.dump({'check': 'after', 'status': 'ok', 'passed': True}, open(sys.argv[2], 'w'))",
    }
    for name, code in scripts.items():
        (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.setattr(check, "HERE", tmp_path)
    monkeypatch.setattr(check, "MIN_CHECK_S", 1)
    monkeypatch.setattr(check, "CHECKS", tuple((name, f"{name}.py", 3) for name in scripts))
    return tmp_path


def test_a_crash_or_a_hang_does_not_stop_the_other_checks(fake_checks, tmp_path):
    out = tmp_path / "out"
    rc = check.main(["--out", str(out), "--budget", "12"])
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 1 and summary["passed"] is False
    status = {name: (row["status"], row["passed"]) for name, row in summary["checks"].items()}
    assert status == {"good": ("ok", True), "crash": ("crashed", False), "hang": ("timeout", False),
                      "after": ("ok", True)}
    assert json.loads((out / "hang.json").read_text())["status"] == "timeout"
    assert summary["checks"]["hang"]["wall_s"] < 12
