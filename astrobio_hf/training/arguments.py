"""Dataclass arguments of `train.py`, parsed by `HfArgumentParser` from the command line and/or a YAML/JSON recipe."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from .class_balance import CLASS_WEIGHTINGS

MODEL_TYPES = ("multimodal", "llm", "graph_vae", "datacube")


@dataclass
class ModelArguments:
    """Which model to train and where its weights come from."""

    model_type: str = field(default="multimodal", metadata={"help": f"one of {', '.join(MODEL_TYPES)}"})
    preset: str | None = field(default=None, metadata={"help": "a preset name (astrobio-hf models --presets)"})
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "a local checkpoint to start from (ours, or for the LLM a Llama-family checkpoint dir)"},
    )
    config_overrides: str | None = field(
        default=None, metadata={"help": "JSON object of config fields to override, e.g. '{\"dropout\": 0.0}'"}
    )
    attn_implementation: str | None = field(default=None, metadata={"help": "sdpa | eager | flash_attention_2"})
    tokenizer_name_or_path: str | None = field(default=None, metadata={"help": "LLM tokenizer directory"})
    lora_r: int = field(default=0, metadata={"help": "LoRA rank for the LLM (0 = full fine-tuning)"})
    lora_alpha: int = field(default=16)
    lora_dropout: float = field(default=0.05)
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge_lora: bool = field(default=False, metadata={"help": "also save the LoRA-merged full model"})
    class_weighting: str = field(
        default="balanced",
        metadata={"help": "multimodal: per-class loss weights of both heads from the train split's labels: "
                          "balanced (N / (K n_c)) | sqrt | none"},
    )

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"--model_type must be one of {MODEL_TYPES}, got {self.model_type!r}.")
        if self.lora_r < 0:
            raise ValueError(f"--lora_r must be >= 0, got {self.lora_r}.")
        if self.lora_r and self.model_type != "llm":
            raise ValueError("--lora_r applies to --model_type llm only.")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(f"--class_weighting must be one of {CLASS_WEIGHTINGS}, got {self.class_weighting!r}.")


@dataclass
class DataArguments:
    """Where the training data comes from."""

    dataset_path: str | None = field(
        default=None, metadata={"help": "a dataset saved with save_to_disk (a DatasetDict with train/validation); "
                                        "with --streaming, Parquet shards written by `astrobio-hf to-parquet` "
                                        "(a folder or any fsspec URL)"}
    )
    streaming: bool = field(
        default=False, metadata={"help": "stream --dataset_path's Parquet shards as IterableDatasets (datasets "
                                         "larger than memory or disk); needs --max_steps or derives it"}
    )
    shuffle_buffer_size: int = field(
        default=1000, metadata={"help": "with --streaming: rows in the shuffle buffer (0 = no shuffling)"}
    )
    shuffle_input_shards: int = field(
        default=10, metadata={"help": "with --streaming: shards read at once to fill the shuffle buffer (datasets' "
                                      "max_buffer_input_shards); above 1, datasets waits 5 s after each pass over "
                                      "the data for Arrow's reader threads to stop"}
    )
    data_dir: str | None = field(default=None, metadata={"help": "local archive dumps for the builders"})
    cache_dir: str | None = field(default=None, metadata={"help": "Arrow cache directory of the builders"})
    max_train_samples: int | None = field(default=None)
    max_eval_samples: int | None = field(default=None)
    block_size: int = field(default=128, metadata={"help": "LLM sequence length"})
    eval_split: str = field(default="validation")

    def __post_init__(self) -> None:
        if self.shuffle_buffer_size < 0:
            raise ValueError(f"--shuffle_buffer_size must be >= 0, got {self.shuffle_buffer_size}.")
        if self.shuffle_input_shards < 1:
            raise ValueError(f"--shuffle_input_shards must be >= 1, got {self.shuffle_input_shards}.")


@dataclass
class AstroTrainingArguments(TrainingArguments):
    """transformers' TrainingArguments plus memory profiling, time-based checkpoints, a time cap, early stopping."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "replace the run already in --output_dir: everything in the folder is deleted first "
                          "(without it, a non-empty --output_dir is refused unless the run resumes from it)"},
    )
    memory_profile_steps: int = field(default=0, metadata={"help": "profile memory every N steps (0 = off)"})
    memory_alert_gb: float = field(default=45.0, metadata={"help": "warn when a memory figure exceeds this"})
    save_every_minutes: float = field(default=0.0, metadata={"help": "also checkpoint every N minutes (0 = off)"})
    max_train_hours: float = field(default=0.0, metadata={"help": "stop (and save) after N hours (0 = no cap)"})
    early_stopping_patience: int = field(default=0, metadata={"help": "evaluations without improvement (0 = off)"})
    early_stopping_threshold: float = field(default=0.0)
    remove_unused_columns: bool = field(default=False, metadata={"help": "multimodal rows keep every column"})
    lr_schedule: str | None = field(
        default=None,
        metadata={"help": "'one_cycle' for torch's OneCycleLR (warmup_steps gives its pct_start, default 0.3); "
                          "otherwise lr_scheduler_type applies"},
    )

    def __post_init__(self) -> None:
        if self.hub_token:
            raise ValueError(
                "--hub_token is refused: the Trainer pickles its arguments into training_args.bin in every "
                "checkpoint and trackers record the command line. Set the HF_TOKEN environment variable instead."
            )
        super().__post_init__()
        if self.memory_profile_steps < 0:
            raise ValueError(f"--memory_profile_steps must be >= 0, got {self.memory_profile_steps}.")
        if self.lr_schedule not in (None, "", "one_cycle"):
            raise ValueError(f"--lr_schedule must be 'one_cycle' or unset, got {self.lr_schedule!r}.")
        if self.early_stopping_patience and not self.metric_for_best_model:
            raise ValueError("--early_stopping_patience needs --metric_for_best_model (and evaluation).")


__all__ = ["ModelArguments", "DataArguments", "AstroTrainingArguments", "MODEL_TYPES"]
