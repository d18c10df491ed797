"""Every accelerate config in accelerate_configs/ parses with accelerate's own launcher code; FSDP configs build an
FSDP2 plugin with CPU offload / transformer wrapping / sharded state dicts (running them needs a GPU host)."""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_multi_gpu_env
from torch.distributed.fsdp import CPUOffloadPolicy

CONFIGS = Path(__file__).resolve().parents[2] / "accelerate_configs"
EXPECTED = {
    "cpu_ddp.yaml": (DistributedType.MULTI_GPU, 2),
    "single_gpu.yaml": (DistributedType.NO, 1),
    "single_process.yaml": (DistributedType.NO, 1),
    "multi_gpu_ddp.yaml": (DistributedType.MULTI_GPU, 2),
    "fsdp2_cpu_offload.yaml": (DistributedType.FSDP, 2),
    "multi_node_fsdp2.yaml": (DistributedType.FSDP, 16),
}


def test_every_config_is_listed():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_loads_with_accelerate(name):
    config = load_config_from_file(str(CONFIGS / name))
    distributed_type, processes = EXPECTED[name]
    assert config.distributed_type == distributed_type
    assert config.num_processes == processes
    assert (CONFIGS / name).read_text().startswith("#"), "each config starts with a comment saying when to use it"
    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS / name), "train.py"])
    args, _, _ = _validate_launch_command(args)
    assert args.num_processes == processes


@pytest.mark.parametrize("name, offload", [("fsdp2_cpu_offload.yaml", True), ("multi_node_fsdp2.yaml", False)])
def test_fsdp_configs_build_an_fsdp2_plugin(name, offload, monkeypatch):
    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS / name), "train.py"])
    args, _, _ = _validate_launch_command(args)
    env = prepare_multi_gpu_env(args)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    assert isinstance(plugin.cpu_offload, CPUOffloadPolicy) == offload
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
