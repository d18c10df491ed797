"""Text for the LLM: the project's byte-level BPE tokenizer and the block dataset builder."""

from .tokenizer import load_or_train_tokenizer, train_bpe_tokenizer

__all__ = ["train_bpe_tokenizer", "load_or_train_tokenizer"]
