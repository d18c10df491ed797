"""`astrobio-hf tokenizer`: train the byte-level BPE tokenizer on the project's corpus and save it."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokenizer", help="train the BPE tokenizer on planet descriptions + annotations")
    parser.add_argument("--dataset", help="prepared multimodal dataset: its planet descriptions (text column)")
    parser.add_argument("--genbank", nargs="*", default=[], help="GenBank flat files (definitions, CDS products)")
    parser.add_argument("--uniprot", nargs="*", default=[], help="Swiss-Prot flat files (names, function text)")
    parser.add_argument("--metabolic", nargs="*", default=[], help="SBML / BiGG JSON models (reaction names)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--output", required=True, help="folder to save the PreTrainedTokenizerFast in")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..text.corpus import build_corpus
    from ..text.tokenizer import train_bpe_tokenizer

    descriptions: list[str] = []
    try:
        if args.dataset:
            from ..data.multimodal_schema import load_multimodal_dataset

            splits, _ = load_multimodal_dataset(args.dataset)
            descriptions = [text for split in splits.values() for text in split["text"]]
        corpus = build_corpus(descriptions, args.genbank, args.uniprot, args.metabolic)
    except (ValueError, FileNotFoundError) as error:
        print(f"astrobio-hf tokenizer: {error}", file=sys.stderr)
        return 1
    if not corpus:
        print("astrobio-hf tokenizer: the corpus is empty; give --dataset and/or annotation files", file=sys.stderr)
        return 2
    tokenizer = train_bpe_tokenizer(corpus, vocab_size=args.vocab_size)
    tokenizer.save_pretrained(args.output)
    print(json.dumps({"output": args.output, "texts": len(corpus), "descriptions": len(descriptions),
                      "vocab_size": len(tokenizer)}))
    return 0
