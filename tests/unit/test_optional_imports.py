"""The package and the LLM/trainer code import and train without datasets, bitsandbytes, flash-attn and torchao,
as on the GPU host's image (benchmarks/gpu/): their absence is simulated in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.helpers.train_runs import REPO, train_env

PROBE = textwrap.dedent("""
    import importlib.util, sys
    from benchmarks.gpu.image import NUMPY_ONLY_DATA_MODULES, install_blocker
    install_blocker(("datasets", "bitsandbytes", "flash_attn", "torchao"))
    for name in ("datasets", "bitsandbytes", "flash_attn", "torchao"):
        assert importlib.util.find_spec(name) is None, name
        try:
            __import__(name)
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError(f"{name} imported although hidden")

    import torch
    import astrobio_hf
    from astrobio_hf.memory import plan_for
    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config
    from astrobio_hf.training import AstroTrainer, AstroTrainingArguments
    from astrobio_hf.training.optimizers import create_optimizer

    model = AstroLLMForCausalLM(build_config("astro-llm-tiny", attn_implementation="flash_attention_2"))
    assert model.config._attn_implementation == "sdpa", model.config._attn_implementation
    ids = torch.randint(0, model.config.vocab_size, (2, 16))
    optimizer = create_optimizer(model, "adamw_torch", lr=1e-2)
    losses = []
    for _ in range(3):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    for name, needs in (("adamw_bnb_8bit", "bitsandbytes"), ("paged_adamw_8bit", "bitsandbytes"),
                        ("adamw_torchao_8bit", "torchao")):
        try:
            create_optimizer(model, name)
        except ImportError as error:
            assert needs in str(error), error
        else:
            raise AssertionError(f"{name} built without {needs}")
    assert plan_for(preset="astro-llm-tiny", strategy="single").device_total > 0
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("datasets", "bitsandbytes", "torchao")
                    or (m.startswith("astrobio_hf.data.") and m not in NUMPY_ONLY_DATA_MODULES))
    print("LOADED", loaded)
""")


def test_llm_and_trainer_work_without_datasets_bitsandbytes_flash_attn():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=train_env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "LOADED []" in result.stdout, result.stdout[-2000:]
