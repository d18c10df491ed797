"""A byte-level BPE tokenizer trained with `tokenizers` on the project's corpus, saved as a PreTrainedTokenizerFast.

Byte-level BPE (GPT-2/Llama-3 style) never meets an unknown character, which matters for text that mixes catalog
names, units and gene products. A Llama-family tokenizer directory can be used instead (`load_or_train_tokenizer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train byte-level BPE on `texts`; ids 0-3 are <pad>, <s>, </s>, <unk>; sequences get <s> prepended."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos = SPECIAL_TOKENS["bos_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokenizer.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def load_or_train_tokenizer(path: str | Path | None, texts: Iterable[str] | None = None,
                            vocab_size: int = 8000) -> PreTrainedTokenizerBase:
    """Load a tokenizer directory (ours or a Llama-family one), or train ours on `texts` when no path is given."""
    if path is not None:
        return AutoTokenizer.from_pretrained(str(path))
    if texts is None:
        raise ValueError("no tokenizer directory was given and there is no text to train one on.")
    return train_bpe_tokenizer(texts, vocab_size=vocab_size)


__all__ = ["train_bpe_tokenizer", "load_or_train_tokenizer", "SPECIAL_TOKENS"]
