"""`astrobio-hf predict --model DIR_OR_REPO (--planet NAME | --input FILE) [--dataset DIR] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="habitability prediction for a planet or a prepared record")
    parser.add_argument("--model", required=True, help="checkpoint folder or hub repo id (ORG/NAME)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--planet", action="append", help="planet name (repeat for several)")
    target.add_argument("--input", help="a prepared record as JSON")
    parser.add_argument("--dataset", help="prepared multimodal dataset to look planets up in (default: the one "
                                          "recorded next to the checkpoint)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def format_prediction(p) -> str:
    lines = [f"{p.planet_name}: habitability probability {p.habitability_probability:.3f}, hz_class {p.hz_class} "
             f"({', '.join(f'{k} {v:.2f}' for k, v in p.hz_class_probabilities.items())})",
             f"  modalities present: {', '.join(p.modalities_present) or 'none'}"]
    if p.true_habitability is not None:
        lines.append(f"  catalog label: habitability {p.true_habitability}, hz_class {p.true_hz_class}")
    generated = sorted({e['source'] for e in p.provenance if e.get('generated')})
    if generated:
        lines.append(f"  generated inputs: {', '.join(generated)}")
    if p.assessment:
        lines.append(f"  assessment: {p.assessment}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..predict import load_predictor, load_record, predict

    try:
        model = load_predictor(args.model)
        if args.input:
            predictions = [predict(model, record=load_record(args.input))]
        else:
            from ..predict import dataset_of

            dataset = args.dataset or dataset_of(args.model)
            predictions = [predict(model, planet=name, dataset=dataset) for name in args.planet]
    except (KeyError, ValueError, FileNotFoundError) as error:
        print(f"astrobio-hf predict: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        print("\n".join(format_prediction(p) for p in predictions))
    return 0
