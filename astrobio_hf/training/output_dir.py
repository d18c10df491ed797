"""`--output_dir` safety: a run never writes over another run's model silently.

transformers 5 removed `TrainingArguments.overwrite_output_dir`; `AstroTrainingArguments` brings it back with the
old meaning. A non-empty output folder is refused unless the run resumes from it (`--resume_from_checkpoint`) or
`--overwrite_output_dir` is given; with the flag the old folder's contents (weights, checkpoints, evaluations, card)
are removed first, so nothing of the old run survives next to the new weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class OutputDirError(ValueError):
    """The output folder holds another run and the flags do not say what to do with it."""


def _inside(path: str | None, folder: Path) -> bool:
    if not path or "://" in path:
        return False
    candidate = Path(path.removeprefix("file://")).resolve()
    return candidate == folder or folder in candidate.parents


def check_output_dir(output_dir: str, *, overwrite: bool, resuming: bool, training: bool,
                     reads: tuple[str | None, ...] = ()) -> bool:
    """Whether the folder must be emptied before training; raises `OutputDirError` when it must not be touched.

    ``reads``: paths the run reads (dataset, starting checkpoint); emptying a folder that holds them is refused."""
    folder = Path(output_dir).resolve()
    if not training or not folder.is_dir() or not any(folder.iterdir()):
        return False
    if resuming and not overwrite:
        return False
    if not overwrite:
        entries = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(entries[:6]) + (f", ... ({len(entries)} entries)" if len(entries) > 6 else "")
        raise OutputDirError(
            f"output_dir {output_dir} already holds a run ({shown}). Give another --output_dir, "
            "--overwrite_output_dir to replace that run (everything in the folder is deleted), or "
            "--resume_from_checkpoint last to continue it.")
    inside = [p for p in reads if _inside(p, folder)]
    if inside:
        raise OutputDirError(f"--overwrite_output_dir would delete {inside[0]}, which this run reads; give another "
                             "--output_dir")
    return True


def empty_output_dir(output_dir: str) -> None:
    """Remove everything inside the folder (the folder itself stays)."""
    for entry in Path(output_dir).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


__all__ = ["OutputDirError", "check_output_dir", "empty_output_dir"]
