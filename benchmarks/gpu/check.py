"""Every GPU check in one command, within a time budget: `benchmarks/gpu/check.sh` (or this script) on a GPU host.

Runs check_attention, check_throughput, check_memory and check_fsdp one after another, each in its own process with
its own time limit (so a crash, an out-of-memory or a hang in one leaves the others running), and writes to the
output folder (`--out`, default `$OUT`): one JSON per check, `summary.json`, and `check.log` (every check's output).
Time left over by a quick check goes to the later ones; a check is skipped when too little of the budget is left.

    benchmarks/gpu/check.sh                       # on the GPU host; figures under $OUT
    python benchmarks/gpu/check.py --dry-run      # on any CPU host: plan, wheels, imports (in the test suite)
    python benchmarks/gpu/check.py --smoke        # on any CPU host: every check at toy sizes (minutes)
    python benchmarks/gpu/check.py --fetch-wheels # here, before a GPU run: download the wheels that travel
See benchmarks/gpu/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.gpu._common import REPO, device_info, versions, write_json  # noqa: E402
from benchmarks.gpu.image import (  # noqa: E402
    BLOCKED,
    NUMPY_ONLY_DATA_MODULES,
    WHEELS,
    fetch_wheels,
    foreign_imports,
    wheel_plan,
)

HERE = Path(__file__).resolve().parent
# (name, script, seconds allotted). The sum stays under the budget; measured on the GPU host they should take far
# less (the allotments cover a cold CUDA start and first-call kernel selection in each process).
CHECKS = (
    ("attention", "check_attention.py", 70),
    ("throughput", "check_throughput.py", 110),
    ("memory", "check_memory.py", 80),
    ("fsdp", "check_fsdp.py", 170),
)
# The whole command must end within 8 minutes; the wheel install in check.sh takes a few seconds of it.
WALL_LIMIT_S = 480
DEFAULT_BUDGET_S = 450
MIN_CHECK_S = 25  # below this a check is skipped rather than started


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT"), help="output folder (default: $OUT)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds for all checks together")
    parser.add_argument("--only", nargs="*", choices=[c[0] for c in CHECKS], help="run these checks only")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="CPU: check the plan, the wheels and the imports")
    mode.add_argument("--smoke", action="store_true", help="CPU: run every check at toy sizes")
    mode.add_argument("--fetch-wheels", action="store_true", help="download the wheels that travel (needs PyPI)")
    args = parser.parse_args(argv)
    if args.out is None and not args.fetch_wheels:
        parser.error("give --out DIR or set $OUT")
    return args


def timeout_for(index: int, checks: list[tuple[str, str, int]], remaining: float) -> float:
    """This check's limit: its allotment, plus whatever earlier checks left unused, never eating later allotments
    unless the budget is already behind (then it still gets its own allotment, capped by what remains)."""
    later = sum(seconds for _, _, seconds in checks[index + 1:])
    return min(remaining, max(checks[index][2], remaining - later))


def run_check(name: str, script: str, out: Path, timeout: float, smoke: bool, log) -> dict:
    target = out / f"{name}.json"
    target.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / script), "--out", str(target)] + (["--smoke"] if smoke else [])
    log.write(f"\n===== {name}: {' '.join(command)} (limit {timeout:.0f} s)\n")
    log.flush()
    start = time.perf_counter()
    # a new session, so a timeout can kill the check and everything it started (accelerate's workers)
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env=child_env())
    try:
        rc = process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        rc, timed_out = process.wait(), True
    wall = time.perf_counter() - start
    if target.is_file():
        result = json.loads(target.read_text())
    else:
        why = f"killed after {timeout:.0f} s" if timed_out else f"exit {rc}"
        result = {"check": name, "status": "timeout" if timed_out else "crashed", "passed": False, "rc": rc,
                  "error": f"no result written ({why}); see check.log"}
        write_json(target, result)
    return {"status": result.get("status"), "passed": result.get("passed"), "wall_s": round(wall, 1),
            "limit_s": round(timeout), "error": result.get("error")}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        env.setdefault(key, "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def run_all(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checks = [c for c in CHECKS if not args.only or c[0] in args.only]
    start = time.perf_counter()
    summary: dict = {"mode": "smoke" if args.smoke else "gpu", "budget_s": args.budget, "versions": versions(),
                     "device": device_info(), "wheels_installed_from": os.environ.get("ASTROBIO_GPU_WHEELS"),
                     "checks": {}}
    with (out / "check.log").open("a") as log:
        for index, (name, script, _) in enumerate(checks):
            remaining = args.budget - (time.perf_counter() - start)
            if remaining < MIN_CHECK_S:
                summary["checks"][name] = {"status": "skipped", "passed": False,
                                           "error": f"only {remaining:.0f} s of the budget left"}
                write_json(out / f"{name}.json", {"check": name, **summary["checks"][name]})
                continue
            summary["checks"][name] = run_check(name, script, out, timeout_for(index, checks, remaining),
                                                args.smoke, log)
            write_json(out / "summary.json", summary)  # after every check: a killed run keeps what it did
    summary["wall_s"] = round(time.perf_counter() - start, 1)
    summary["passed"] = all(c.get("passed") for c in summary["checks"].values())
    write_json(out / "summary.json", summary)
    print(f"{'check':<11} {'status':<8} {'passed':<7} {'wall s':>7}  error")
    for name, row in summary["checks"].items():
        print(f"{name:<11} {row['status']!s:<8} {row['passed']!s:<7} {row.get('wall_s', 0):>7}  {row.get('error') or ''}")
    print(f"all passed: {summary['passed']}; {summary['wall_s']} s; JSON in {out}")
    return 0 if summary["passed"] else 1


IMPORT_PROBE = """
import json, sys
sys.path.insert(0, {repo!r})
from benchmarks.gpu.image import install_blocker
install_blocker({blocked!r})
import importlib
import astrobio_hf, astrobio_hf.models, astrobio_hf.memory, astrobio_hf.training.trainer
plans = {{}}
for name in {modules!r}:
    module = importlib.import_module("benchmarks.gpu." + name)
    if hasattr(module, "plan"):
        plans[name] = module.plan(False)
ours = sorted({{m.__name__: m.__file__ for m in list(sys.modules.values())
               if (m.__name__.startswith(("astrobio_hf", "benchmarks")) and getattr(m, "__file__", None))}}.items())
print("PROBE" + json.dumps({{"ours": ours, "plans": plans}}, default=str))
"""


def import_probe(blocked: tuple[str, ...]) -> dict:
    """Import every check (and run its plan) in a fresh interpreter where the `blocked` packages look uninstalled,
    then audit the imports of every module of this repository that got loaded against what the GPU host has."""
    modules = ["fsdp_worker", *(script[:-3] for _, script, _ in CHECKS)]
    code = IMPORT_PROBE.format(repo=str(REPO), blocked=tuple(blocked), modules=modules)
    probe = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=child_env(),
                           timeout=300)
    lines = [line for line in probe.stdout.splitlines() if line.startswith("PROBE")]
    if probe.returncode != 0 or not lines:
        return {"ok": False, "blocked": list(blocked), "error": probe.stderr[-4000:]}
    found = json.loads(lines[-1][len("PROBE"):])
    loaded = dict(found["ours"])
    foreign = foreign_imports([Path(f) for f in loaded.values()], allowed_wheels=tuple(w.name for w in WHEELS))
    # only the numpy-only modules of the data side may load on the GPU host (not datasets or the pyarrow builders)
    data_side = [m for m in loaded if m.startswith("astrobio_hf.data") and m not in NUMPY_ONLY_DATA_MODULES]
    problems = [f"import-time imports not in the GPU image: {foreign['module']}"] if foreign["module"] else []
    if data_side:
        problems.append(f"the checks import the data side: {data_side}")
    return {"ok": not problems, "blocked": list(blocked), "problems": problems, "plans": found["plans"],
            "repo_modules_loaded": len(loaded),
            # function-level imports of packages neither the image nor the wheels hold: they run only on paths
            # the checks do not take
            "lazy_imports_not_available": foreign["lazy"]}


def dry_run(args: argparse.Namespace) -> int:
    """What a GPU run would do, checked on the CPU: budget arithmetic, the wheels, the imports and each plan."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    allotted = sum(seconds for _, _, seconds in CHECKS)
    budget = {"budget_s": args.budget, "allotted_s": allotted, "wall_limit_s": WALL_LIMIT_S,
              "ok": allotted <= args.budget < WALL_LIMIT_S,
              "checks": [{"name": n, "script": s, "allotted_s": t} for n, s, t in CHECKS]}
    wheels = wheel_plan()
    # the image as it is: datasets, flash-attn and even the carried bitsandbytes/torchao look uninstalled, so every
    # import that needs one of them must be lazy; their lazy imports are then checked against the carried wheels
    imports = import_probe(BLOCKED)
    report = {"budget": budget, "wheels": wheels, "imports": imports,
              "ok": budget["ok"] and wheels["ok"] and imports["ok"]}
    write_json(out / "dry_run.json", report)
    print(json.dumps({"budget_ok": budget["ok"], "wheels_ok": wheels["ok"], "total_mib": wheels["total_mib"],
                      "imports_ok": imports["ok"],
                      "problems": wheels["problems"] + imports.get("problems", [imports.get("error")])}, indent=2))
    return 0 if report["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.fetch_wheels:
        for path in fetch_wheels():
            print(f"{path} ({path.stat().st_size / 2**20:.1f} MiB)")
        return 0
    if args.dry_run:
        return dry_run(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
