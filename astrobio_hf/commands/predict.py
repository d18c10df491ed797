"""`astrobio-hf predict --model DIR_OR_REPO (--values COL=V ... | --catalog FILE --planet NAME | --planet NAME |
--input FILE | --catalog FILE --all [--output FILE]) [--light-curve FITS] [--spectrum FILE] [--climate-cube NC]
[--graph FILE] [--dataset DIR] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="habitability prediction for any planet (catalog values / your catalog file) or a prepared one",
        description="Give a planet by its catalog values (--values), by name in your own NASA Exoplanet Archive file "
                    "(--catalog FILE --planet NAME), by name in the prepared dataset (--planet NAME) or as a prepared "
                    "record (--input); or score every planet of a catalog (--catalog FILE --all; --catalog packaged is "
                    "the snapshot shipped with astrobio-hf). Light curve, spectrum, climate cube and metabolic model "
                    "files are optional; missing inputs are masked and reported.")
    parser.add_argument("--model", required=True, help="checkpoint folder or hub repo id (ORG/NAME)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--planet", action="append", help="planet name (repeat for several)")
    target.add_argument("--input", help="a prepared record as JSON")
    target.add_argument("--values", nargs="+", metavar="COLUMN=VALUE",
                        help="catalog values in NASA Exoplanet Archive columns and units, e.g. pl_orbper=129.9 "
                             "st_teff=3755 pl_name='Kepler-186 f'")
    target.add_argument("--all", action="store_true",
                        help="with --catalog: score every planet of the catalog in one run, in batches, ranked by "
                             "P(habitable) (CSV on stdout, or --output FILE.csv / FILE.parquet)")
    parser.add_argument("--catalog", help="a NASA Exoplanet Archive file (PSCompPars CSV / IPAC / VOTable, gzipped or "
                                          "not) to look --planet up in or to score --all; 'packaged' is the 2025 "
                                          "snapshot shipped with astrobio-hf")
    parser.add_argument("--output", help="with --all: write the ranking to this .csv or .parquet file")
    parser.add_argument("--batch-size", type=int, default=256, help="with --all: planets per batch (default: "
                                                                    "%(default)s)")
    parser.add_argument("--catalog-table", default="pscomppars", help="archive table of --catalog (default: %(default)s)")
    parser.add_argument("--light-curve", help="Kepler / K2 / TESS light-curve FITS of the host star (optional)")
    parser.add_argument("--spectrum", help="spectrum file: JWST x1d, ESO ADP, 1-D FITS or a table (optional)")
    parser.add_argument("--climate-cube", help="CF NetCDF climate-model output (optional)")
    parser.add_argument("--graph", help="metabolic model: SBML, KGML or JSON (optional)")
    parser.add_argument("--dataset", help="prepared multimodal dataset to look planets up in (default: the one "
                                          "recorded next to the checkpoint)")
    parser.add_argument("--force", action="store_true",
                        help="use a --light-curve / --spectrum file even though its header names another star or "
                             "planet")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def format_prediction(p) -> str:
    decision = "habitable" if p.habitable else "not habitable"
    lines = [f"{p.planet_name}: {decision} (probability {p.habitability_probability:.3f}, threshold "
             f"{p.threshold:.3g}), hz_class {p.hz_class} "
             f"({', '.join(f'{k} {v:.2f}' for k, v in p.hz_class_probabilities.items())})",
             f"  modalities present: {', '.join(p.modalities_present) or 'none'}"]
    if p.missing_inputs:
        lines.append(f"  missing inputs (masked, not imputed): {', '.join(p.missing_inputs)}")
    if p.missing_catalog_values:
        lines.append(f"  missing catalog values: {', '.join(p.missing_catalog_values)}")
    if p.true_habitability is not None:
        lines.append(f"  catalog label: habitability {p.true_habitability}, hz_class {p.true_hz_class}")
    generated = sorted({e['source'] for e in p.provenance if e.get('generated')})
    if generated:
        lines.append(f"  generated inputs: {', '.join(generated)}")
    if p.assessment:
        lines.append(f"  assessment: {p.assessment}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..inference.predict import (
        catalog_row,
        dataset_of,
        load_predictor,
        load_processor,
        load_record,
        parse_values,
        predict,
    )

    modality_files = {"light_curve": args.light_curve, "spectrum": args.spectrum, "climate_cube": args.climate_cube,
                      "graph": args.graph}
    by_values = args.values is not None or args.catalog is not None
    if any(modality_files.values()) and not by_values:
        print("astrobio-hf predict: --light-curve/--spectrum/--climate-cube/--graph go with --values or --catalog",
              file=sys.stderr)
        return 2
    if not (args.planet or args.input or args.values is not None or args.all):
        print("astrobio-hf predict: give one of --planet NAME, --values COLUMN=VALUE ..., --input FILE or "
              "--catalog FILE --all", file=sys.stderr)
        return 2
    if args.all:
        return _score_all(args)
    if args.catalog and not args.planet:
        print("astrobio-hf predict: --catalog needs --planet NAME (or --all to score every planet)", file=sys.stderr)
        return 2
    try:
        model = load_predictor(args.model)
        processor = load_processor(args.model)
        if args.input:
            predictions = [predict(model, record=load_record(args.input), processor=processor)]
        elif by_values:
            catalogs = ([catalog_row(args.catalog, name, args.catalog_table) for name in args.planet] if args.catalog
                        else [parse_values(args.values)])
            predictions = [predict(model, values, processor=processor, force=args.force, **modality_files)
                           for values in catalogs]
        else:
            dataset = args.dataset or dataset_of(args.model)
            predictions = [predict(model, planet=name, dataset=dataset, processor=processor) for name in args.planet]
    except (KeyError, ValueError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"astrobio-hf predict: {message}", file=sys.stderr)
        if isinstance(error, KeyError) and not by_values:
            print("  (a planet outside the prepared dataset: give its values with --values COLUMN=VALUE ..., or "
                  "--catalog YOUR_PSCOMPPARS_FILE --planet NAME)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        print("\n".join(format_prediction(p) for p in predictions))
    return 0


def _score_all(args: argparse.Namespace) -> int:
    """--catalog FILE --all: the ranking as CSV on stdout, or written to --output with the top rows shown."""
    from ..inference.catalog_scoring import score_catalog

    if not args.catalog:
        print("astrobio-hf predict: --all needs --catalog FILE (or --catalog packaged)", file=sys.stderr)
        return 2
    if any((args.light_curve, args.spectrum, args.climate_cube, args.graph)):
        print("astrobio-hf predict: --all scores catalog values; give observation files with --values or --planet",
              file=sys.stderr)
        return 2
    try:
        frame = score_catalog(args.model, args.catalog, output=args.output, batch_size=args.batch_size,
                              table=args.catalog_table)
    except (KeyError, ValueError, FileNotFoundError) as error:
        print(f"astrobio-hf predict: {error}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(frame.to_csv(index=False))
        return 0
    shown = frame.head(10)[["rank", "planet_name", "habitability_probability", "habitable", "hz_class",
                            "rule_habitability"]]
    print(f"scored {len(frame)} planets of {args.catalog} -> {args.output} (threshold "
          f"{frame['threshold'].iloc[0] if len(frame) else 0.5:g}, {int(frame['habitable'].sum())} above it)")
    print(shown.to_string(index=False))
    return 0
