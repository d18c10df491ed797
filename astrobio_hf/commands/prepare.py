"""`astrobio-hf prepare --source KEY` (build or reuse a source's Arrow cache) and `prepare --dataset multimodal`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..data.protocols import PROTOCOLS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prepare", help="download or read an archive and build its Arrow cache")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--source", help="source key (see `astrobio_hf.data.sources.SOURCE_PATHS`) or 'all'")
    what.add_argument("--dataset", choices=["multimodal"],
                      help="build the multimodal training dataset from --data-dir (see docs/data.md)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="local dump to read instead of the network (with --source all: one sub-folder "
                             "per source key; with --dataset multimodal: the input layout of docs/data.md)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="datasets cache folder (default: HF's)")
    parser.add_argument("--skip-bad-files", action="store_true",
                        help="skip files that fail to parse and report them, instead of failing the run")
    parser.add_argument("--force-download", action="store_true",
                        help="send the archive's requests again instead of reusing saved answers and the cache")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="HTTP request timeout in download mode (default 120)")
    parser.add_argument("--retries", type=int, default=None, metavar="N",
                        help="retries of a failed request (429/5xx/connection errors) in download mode (default 4)")
    parser.add_argument("--num-proc", type=int, default=None, metavar="N",
                        help="parse the files of a multi-file source in N processes (same result as one)")
    parser.add_argument("--download-workers", type=int, default=4, metavar="N",
                        help="files fetched at once in download mode, within the archive's request interval "
                             "(default 4)")
    parser.add_argument("--request-interval", type=float, default=None, metavar="SECONDS",
                        help="minimum seconds between two requests to one host, replacing the archive's polite "
                             "default: for mirrors you run yourself")
    parser.add_argument("--json", action="store_true",
                        help='print {"source", "rows", "columns", "cache_dir", "from_cache"} as JSON (with '
                             '--dataset multimodal: the build report)')
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a builder config option, e.g. --config table=toi (repeatable)")
    mm = parser.add_argument_group("--dataset multimodal")
    mm.add_argument("--output", type=Path, default=Path("multimodal_dataset"),
                    help="folder the dataset is saved to (save_multimodal_dataset); default ./multimodal_dataset")
    mm.add_argument("--preset", default="tiny", help="model preset whose shapes the rows take (tiny, small, seed)")
    mm.add_argument("--climate", choices=["none", "generate", "files"], default="none",
                    help="climate cubes: none, the energy-balance generator (+ mapped files), or mapped files only")
    mm.add_argument("--max-planets", type=int, default=None, help="keep the first N planets (small runs)")
    mm.add_argument("--host", action="append", default=None, help="keep only this host's planets (repeatable)")
    mm.add_argument("--planet", action="append", default=None, help="keep only this planet (repeatable)")
    mm.add_argument("--seed", type=int, default=0, help="seed of the host-star split assignment")
    mm.add_argument("--protocol", choices=PROTOCOLS, default="full",
                    help="'withheld' removes pl_insol, pl_eqt and insolation-generated climate cubes from the "
                         "inputs; 'withheld-orbit' also pl_orbper and pl_orbsmax, and light curves are not folded at "
                         "the catalog period (astrobio_hf.data.protocols)")
    mm.add_argument("--split-fractions", type=float, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                    help="planet shares of the train / validation / test splits (default 0.8 0.1 0.1)")
    mm.add_argument("--light-curve-store", type=Path, default=None,
                    help="a searched light-curve store (python -m astrobio_hf.demo.mission_light_curves): folds at "
                         "the found period and the search's features, instead of light-curve FITS files")
    mm.add_argument("--store-planets-only", action="store_true",
                    help="keep only the planets the light-curve store covers")
    mm.add_argument("--cross-ids", type=Path, default=None, help="CSV host_name,kic,tic,epic for light curves")
    mm.add_argument("--spectrum-map", type=Path, default=None, help="CSV planet_name,file[,kind,order,...]")
    mm.add_argument("--climate-map", type=Path, default=None, help="CSV planet_name,file[,variables] (NetCDF)")
    mm.add_argument("--graph-map", type=Path, default=None, help="CSV planet_name,file (metabolic models)")
    parser.set_defaults(func=run)


def config_options(pairs: list[str]) -> dict[str, object]:
    """``["table=toi", "top=10"]`` -> ``{"table": "toi", "top": 10}`` (integers converted)."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--config expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    return out


def _one(key: str, args: argparse.Namespace, data_dir: Path | None) -> dict:
    from ..data.prepare import prepare_source

    result = prepare_source(key, data_dir=data_dir, cache_dir=args.cache_dir,
                            on_bad_file="skip" if args.skip_bad_files else "raise",
                            force_download=args.force_download, request_timeout_s=args.timeout,
                            max_retries=args.retries, num_proc=args.num_proc,
                            download_workers=args.download_workers, request_interval_s=args.request_interval,
                            **config_options(args.config))
    out = {"source": result.source, "rows": result.rows, "columns": result.columns,
           "cache_dir": result.cache_dir, "from_cache": result.from_cache}
    if result.skipped_files:
        out["skipped_files"] = result.skipped_files
    if result.quality:
        out["quality"] = result.quality
    if result.unverified_answers:
        out["unverified_answers"] = result.unverified_answers
    return out


def _print_summary(out: dict) -> None:
    state = "reused cache" if out["from_cache"] else "prepared"
    print(f"{out['source']}: {state}: {out['rows']} rows x {len(out['columns'])} columns -> {out['cache_dir']}")
    for skipped in out.get("skipped_files", []):
        print(f"  skipped {skipped['file']}: {skipped['error']}")
    for file, findings in out.get("quality", {}).items():
        for what, value in findings.items():
            print(f"  {file}: {what}: {value}")
    for name in out.get("unverified_answers", []):
        print(f"  {name}: completeness not checkable (no length, count or end marker): used for this run only")


def run_multimodal(args: argparse.Namespace) -> int:
    """`prepare --dataset multimodal`: build, save with save_multimodal_dataset, print the summary."""
    from ..data.download import DownloadError
    from ..data.joins import JoinTableError
    from ..data.modalities._fits import ModalityFormatError
    from ..data.multimodal import (
        MultimodalBuildError,
        build_multimodal_dataset,
        config_from_data_dir,
        save_build_report,
    )
    from ..data.multimodal_schema import save_multimodal_dataset
    from ..data.sources import SourceFormatError

    if args.data_dir is None:
        print("error: --dataset multimodal needs --data-dir (a folder with nasa_exoplanet_archive/ ...; "
              "see docs/data.md)", file=sys.stderr)
        return 2
    try:
        config = config_from_data_dir(
            args.data_dir, cache_dir=args.cache_dir, preset=args.preset, climate=args.climate,
            max_planets=args.max_planets, hosts=args.host, planets=args.planet, split_seed=args.seed,
            protocol=args.protocol, split_fractions=args.split_fractions,
            cross_ids=args.cross_ids, spectrum_map=args.spectrum_map, climate_map=args.climate_map,
            graph_map=args.graph_map, light_curve_store=args.light_curve_store,
            store_planets_only=args.store_planets_only or None,
            climate_cache_dir=None if args.cache_dir is None else args.cache_dir / "multimodal_ebm_cubes",
        )
        splits, spec, report = build_multimodal_dataset(config)
    except (MultimodalBuildError, JoinTableError, ModalityFormatError, SourceFormatError, DownloadError,
            FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = save_multimodal_dataset(splits, spec, args.output)
    save_build_report(report, path)
    from ..data.dataset_card import multimodal_card, write_card

    write_card(path, multimodal_card(path))  # README.md: columns, units, label rule, generated parts, licences
    if args.json:
        out = {"dataset": "multimodal", "output": str(path),
               **{k: v for k, v in report.to_dict().items() if k != "host_splits"}}
        print(json.dumps(out, indent=2, default=float))
    else:
        print(report.summary())
        print(f"saved to {path} (report: {path / 'multimodal_report.json'}, card: {path / 'README.md'})")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..data.download import DownloadError
    from ..data.sources import SOURCE_PATHS, SourceFormatError, SourceNotAvailable

    if getattr(args, "dataset", None) == "multimodal":
        return run_multimodal(args)

    if args.source != "all" and args.source not in SOURCE_PATHS:
        print(f"error: unknown source {args.source!r}; known: {', '.join(SOURCE_PATHS)}, all", file=sys.stderr)
        return 2
    keys = list(SOURCE_PATHS) if args.source == "all" else [args.source]
    results, failed = [], 0
    for key in keys:
        data_dir = args.data_dir
        if args.source == "all" and data_dir is not None:
            data_dir = data_dir / key
            if not data_dir.is_dir():
                print(f"{key}: skipped (no folder {data_dir})", file=sys.stderr)
                continue
        try:
            out = _one(key, args, data_dir)
        except SourceNotAvailable as exc:
            if args.source != "all":
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"{key}: skipped ({exc})", file=sys.stderr)
            continue
        except (SourceFormatError, DownloadError, FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        results.append(out)
        if not args.json:
            _print_summary(out)
    if args.json:
        print(json.dumps(results[0] if args.source != "all" and results else results, indent=2))
    return 1 if failed else 0
