"""Sharing: model cards (`model_card`), pushing models and datasets to a private Hub repository (`hub`,
`dataset_hub`), and checkpoints that load with `trust_remote_code=True` without astrobio-hf (`remote_code`).

Kept empty of imports so that `import astrobio_hf.sharing.x` loads only what x needs.
"""
