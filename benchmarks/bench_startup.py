"""Start-up time of the `astrobio-hf` command: `--help` and `inspect` of a small file, in fresh processes.

Reference in the same run: the same command with the models imported first (`import astrobio_hf.models`, what
`import astrobio_hf` did before registration became lazy: torch, transformers' modeling code, torch_geometric), and
a bare interpreter start (`python -c pass`) as the floor. Runs alternate (A B C, C B A, ...) so load drifts cancel.

    python benchmarks/bench_startup.py --write [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("ASTROBIO_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
SMALL_FILE = REAL / "exoplanets_org" / "exoplanet_orbit_database.csv"  # 6 kB, 10 planets
INSPECT = ["inspect", "--source", "exoplanets_org", "--file", str(SMALL_FILE)]


def cli_code(argv: list[str], eager: bool) -> str:
    pre = "import astrobio_hf.models; " if eager else ""
    return f"{pre}import sys; from astrobio_hf.cli import main; sys.exit(main({argv!r}) or 0)"


def run_seconds(code: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - start
    if done.returncode not in (0,):
        raise RuntimeError(f"{code!r} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    candidates = {
        "python -c pass (interpreter floor)": "pass",
        "astrobio-hf --help": cli_code(["--help"], eager=False),
        "astrobio-hf --help, models imported first (before)": cli_code(["--help"], eager=True),
        "astrobio-hf inspect (6 kB CSV)": cli_code(INSPECT, eager=False),
        "astrobio-hf inspect, models imported first (before)": cli_code(INSPECT, eager=True),
    }
    for code in candidates.values():  # warm the file cache and byte-code once
        run_seconds(code)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(run_seconds(candidates[name]))
    med = {name: statistics.median(values) for name, values in times.items()}
    rows = ["| command (fresh process) | median s | min s | max s | vs. models imported first |", "|---|---:|---:|---:|---:|"]
    for name in names:
        ref = None
        if name.startswith("astrobio-hf --help") and "before" not in name:
            ref = med["astrobio-hf --help, models imported first (before)"]
        elif name.startswith("astrobio-hf inspect") and "before" not in name:
            ref = med["astrobio-hf inspect, models imported first (before)"]
        ratio = f"{med[name] / ref:.2f}" if ref else ""
        rows.append(f"| {name} | {med[name]:.2f} | {min(times[name]):.2f} | {max(times[name]):.2f} | {ratio} |")
    load = os.getloadavg()
    body = (f"Median of {args.rounds} alternating rounds per command; each a fresh `python -c` process "
            f"(`{Path(sys.executable).name}` of the project venv). Load average at the end: "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min; the machine is shared). Targets: "
            "`--help` under 1 s, `inspect` of a small file under 3 s.\n\n" + "\n".join(rows))
    print(body)
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _common import write_section

        write_section("CLI start-up: --help and inspect", body)


if __name__ == "__main__":
    main()
