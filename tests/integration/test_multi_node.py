"""Multi-node launch, as far as one CPU host can test it: a 2-process `torchrun` run of train.py trains, and the
multi-node FSDP2 config (with the SLURM script's overrides) turns into the right torchrun arguments in accelerate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import prepare_multi_gpu_env

from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import REPO, assert_two_process_training

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
CONFIGS = REPO / "accelerate_configs"


def test_torchrun_two_processes_train_through_train_py(tmp_path):
    dataset = write_dataset(tmp_path / "data", n_train=32, n_eval=8)
    output = tmp_path / "run"
    launcher = [TORCHRUN, "--standalone", "--nnodes", "1", "--nproc_per_node", "2"]
    assert_two_process_training(dataset, output, launcher, steps=10)


def test_multi_node_config_gives_torchrun_arguments_for_any_node(monkeypatch):
    # the flags accelerate_configs/slurm_multi_node_fsdp2.sbatch adds, for the second of 4 nodes of 8 GPUs
    args = launch_command_parser().parse_args([
        "--config_file", str(CONFIGS / "multi_node_fsdp2.yaml"), "--num_machines", "4", "--num_processes", "32",
        "--machine_rank", "1", "--main_process_ip", "node001", "--main_process_port", "29500",
        "--rdzv_backend", "c10d", "train.py",
    ])
    args, distributed_type, _ = _validate_launch_command(args)
    env = prepare_multi_gpu_env(args)
    assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("4", 1, "8")
    assert args.rdzv_backend == "c10d" and args.rdzv_endpoint == "node001:29500"
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    assert env["FSDP_OFFLOAD_PARAMS"] == "false" and env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"


def test_slurm_script_is_valid_bash_and_uses_the_multi_node_config():
    script = CONFIGS / "slurm_multi_node_fsdp2.sbatch"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "--config_file accelerate_configs/multi_node_fsdp2.yaml" in text
    assert '--machine_rank "$SLURM_NODEID"' in text and "#SBATCH --ntasks-per-node=1" in text
    # accelerate 1.15 ignores `rdzv_backend` from a config file (its parser default "static" wins): pass the flag
    assert "--rdzv_backend c10d" in text
