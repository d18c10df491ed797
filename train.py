"""Train an astrobio-hf model: `accelerate launch [--config_file accelerate_configs/X.yaml] train.py RECIPE.yaml [--flags]`.

Trains any of the four models (`--model_type multimodal | llm | graph_vae | datacube`) from scratch, from a local
checkpoint, or (LLM) from a Llama-family checkpoint, on a prepared multimodal dataset. `--do_eval` alone evaluates a
checkpoint (`--model_name_or_path`). See docs/training.md.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from astrobio_hf.data.provenance import summarize_provenance
from astrobio_hf.inference.processing import AstroMultimodalProcessor
from astrobio_hf.sharing.hub import push_model
from astrobio_hf.sharing.model_card import scrub_local_paths, scrub_secrets, write_model_card
from astrobio_hf.sharing.remote_code import add_remote_code
from astrobio_hf.training.callbacks import build_callbacks
from astrobio_hf.training.checkpoints import last_complete_checkpoint, remove_incomplete_checkpoints
from astrobio_hf.training.cli_args import effective_arguments, parse_train_args, run_notes
from astrobio_hf.training.console import quiet_console
from astrobio_hf.training.decision_threshold import set_validation_threshold
from astrobio_hf.training.loss_curve import write_loss_curve
from astrobio_hf.training.output_dir import OutputDirError, check_output_dir, empty_output_dir
from astrobio_hf.training.streaming import configure_streaming
from astrobio_hf.training.tasks import build_task
from astrobio_hf.training.trainer import AstroTrainer

logger = logging.getLogger("astrobio_hf.train")


def resolve_requested(value: str | None) -> bool:
    """Whether `--resume_from_checkpoint` asks to continue a run."""
    return value is not None and str(value).lower() not in ("", "false", "none")


def resolve_resume(value: str | None, output_dir: str) -> str | None:
    """`--resume_from_checkpoint`: a path, or 'true'/'last' for the newest complete checkpoint in output_dir."""
    if value is None or str(value).lower() in ("", "false", "none"):
        return None
    if str(value).lower() in ("true", "last"):
        remove_incomplete_checkpoints(output_dir)
        checkpoint = last_complete_checkpoint(output_dir)
        if checkpoint is None:
            logger.warning("no complete checkpoint in %s: training from the start", output_dir)
            return None
        return str(checkpoint)
    if not Path(value).is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {value} is not a directory")
    return value


def main(argv: list[str] | None = None) -> dict:
    from transformers import set_seed  # after astrobio_hf's imports: its __init__ filters import-time noise

    command = sys.argv[1:] if argv is None else list(argv)
    model_args, data_args, training_args = parse_train_args(command)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO if training_args.should_log else logging.WARNING)
    set_seed(training_args.seed)
    resuming = resolve_requested(training_args.resume_from_checkpoint)
    # checked on every rank (same filesystem, same answer), emptied by the main process only
    if check_output_dir(training_args.output_dir, overwrite=training_args.overwrite_output_dir, resuming=resuming,
                        training=training_args.do_train,
                        reads=(data_args.dataset_path, model_args.model_name_or_path)):
        with training_args.main_process_first(local=False, desc="emptying output_dir"):
            if training_args.process_index == 0:
                logger.warning("--overwrite_output_dir: deleting the previous run in %s", training_args.output_dir)
                empty_output_dir(training_args.output_dir)
    # The Trainer would create the hub repo itself, and its hub_private_repo is ignored for existing repos: push with
    # astrobio_hf.sharing.hub.push_model at the end instead, which creates the repo private and checks it before uploading.
    push_repo = training_args.hub_model_id if training_args.push_to_hub else None
    if training_args.push_to_hub and not push_repo:
        raise ValueError("--push_to_hub needs --hub_model_id ORG/NAME")
    training_args.push_to_hub = False
    task = build_task(model_args, data_args,
                      seed=training_args.seed if training_args.data_seed is None else training_args.data_seed)
    if training_args.do_train and task.train_dataset is None:
        raise ValueError(f"{data_args.dataset_path} has no 'train' split to train on")
    if task.streaming is not None:
        configure_streaming(training_args, rows_of(task.train_dataset, task, "train", model_args.model_type))
    trainer = AstroTrainer(
        model=task.model,
        args=training_args,
        train_dataset=task.train_dataset if training_args.do_train else None,
        eval_dataset=task.eval_dataset,
        data_collator=task.data_collator,
        processing_class=task.tokenizer,
        compute_metrics=task.compute_metrics,
        callbacks=build_callbacks(training_args),
        prediction_fields=task.prediction_fields,
        perplexity=task.perplexity,
    )
    if task.label_names:
        trainer.label_names = task.label_names
    quiet_console(trainer, training_args.disable_tqdm)
    run_info = {
        "model_type": model_args.model_type,
        "num_parameters": sum(p.numel() for p in trainer.model.parameters()),
        "num_processes": trainer.accelerator.num_processes,
        "distributed_type": str(trainer.accelerator.distributed_type.value),
        "mixed_precision": trainer.accelerator.mixed_precision,
        "train_rows": rows_of(task.train_dataset, task, "train", model_args.model_type),
        "eval_rows": rows_of(task.eval_dataset, task, data_args.eval_split, model_args.model_type),
        "dataset_path": recorded_dataset_path(data_args.dataset_path, training_args.output_dir),
        "streaming": data_args.streaming,
    }
    logger.info("run: %s", run_info)
    if trainer.is_world_process_zero():
        Path(training_args.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(training_args.output_dir) / "run_info.json").write_text(json.dumps(run_info, indent=2))
    results: dict = {"run": run_info}
    if training_args.do_train:
        resume = resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
        train_result = trainer.train(resume_from_checkpoint=resume)
        if model_args.model_type == "multimodal" and task.eval_dataset is not None:
            # the decision threshold of the kept weights, chosen on the eval split, saved in config.json
            results["threshold"] = run_info["threshold"] = set_validation_threshold(
                trainer, task.eval_dataset).to_dict()
        trainer.save_model()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
        results["train"] = train_result.metrics
        if model_args.lora_r and model_args.merge_lora and trainer.is_world_process_zero():
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(Path(training_args.output_dir) / "merged")
    if training_args.do_eval and task.eval_dataset is not None:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results["eval"] = metrics
    if trainer.is_world_process_zero():
        output = Path(training_args.output_dir)
        output.mkdir(parents=True, exist_ok=True)
        if task.spec is not None:
            (output / "multimodal_spec.json").write_text(json.dumps(task.spec.to_dict(), indent=2))
            if model_args.model_type == "multimodal":
                # predict / AutoProcessor / pipeline encode new planets with the training data's transforms
                AstroMultimodalProcessor.from_spec(task.spec).save_pretrained(output)
        if model_args.model_type == "multimodal" and not model_args.lora_r and (output / "config.json").is_file():
            # code + auto_map beside the weights: AutoModel/AutoProcessor/pipeline load without astrobio-hf
            add_remote_code(output)
        curve = write_loss_curve(trainer.state.log_history, output / "loss_curve.png",
                                 title=f"{model_args.model_type}: {output.name}")
        if curve is not None:
            results["loss_curve"] = str(curve)
        if (output / "config.json").is_file():
            if task.streaming is not None:  # counted when the shards were written: streaming never holds the split
                sources = task.streaming.manifest.provenance
            else:
                sources = summarize_provenance(task.train_dataset) if task.train_dataset is not None else []
            # the arguments in force after command-line overrides, and the dataset this run read: not the YAML
            arguments = scrub_local_paths(scrub_secrets(effective_arguments(command, model_args, data_args,
                                                                            training_args)))
            notes = {**run_notes(command), "dataset_used": {"path": card_dataset_path(run_info["dataset_path"]),
                                                            "train_rows": run_info["train_rows"],
                                                            "eval_rows": run_info["eval_rows"]}}
            recipe = {**arguments, **notes}
            preset = None if model_args.model_name_or_path else resolved_preset(model_args)
            if training_args.do_train:  # what the card is rebuilt from later (astrobio-hf evaluate rewrites it)
                run_info["card"] = {"recipe": arguments, "recipe_notes": notes, "data_sources": sources, "preset": preset,
                                    "validation_metrics": results.get("eval")}
                (output / "run_info.json").write_text(json.dumps(run_info, indent=2, default=float))
            write_model_card(output, trainer.model if not model_args.lora_r else None, recipe=recipe,
                             metrics=results.get("eval"), data_sources=sources, preset=preset)
        if push_repo:
            results["hub_url"] = push_model(output, push_repo)
            print(f"pushed {output} to {results['hub_url']} (private)")
    # Every rank waits for the main process's writing, then leaves the process group: a rank that exits while it
    # still holds a gloo group (its connection threads live) can abort in `std::terminate` and fail the launch.
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    return results


def rows_of(dataset, task, split: str, model_type: str) -> int | None:
    """Rows of a split: its length, or for a stream the row count of its shards as written (None when the model
    type filters the rows: graph_vae and datacube keep the rows that carry their modality)."""
    if dataset is None:
        return 0
    if task.streaming is None:
        return len(dataset)
    return task.streaming.rows.get(split) if model_type == "multimodal" else None


def recorded_dataset_path(path: str | None, output_dir: str) -> str | None:
    """The dataset as run_info.json records it: a remote URL as given; a local path relative to the model folder
    (run_info.json is uploaded with the model and must hold no local path)."""
    if not path:
        return None
    if "://" in path and not path.startswith("file://"):
        return path
    local = path.removeprefix("file://")
    return os.path.relpath(Path(local).resolve(), Path(output_dir).resolve())


def card_dataset_path(recorded: str | None) -> str | None:
    """The dataset as the card names it: the recorded path when it lies beside or under the model folder (or is a
    URL); else only its folder name, since a relative path that climbs out of the model folder spells out this
    machine's layout (and means nothing on the hub)."""
    if not recorded or "://" in recorded or not recorded.startswith(".."):
        return recorded
    return Path(recorded).name


def resolved_preset(model_args) -> str:
    from astrobio_hf.training.tasks import DEFAULT_PRESETS

    return model_args.preset or DEFAULT_PRESETS[model_args.model_type]


if __name__ == "__main__":
    try:
        main()
    except OutputDirError as error:  # a user's mistake, not a bug: the message says what to do
        print(f"train.py: error: {error}", file=sys.stderr)
        sys.exit(2)
