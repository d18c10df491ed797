#!/usr/bin/env python
"""Push a prepared dataset, with its dataset card, to a PRIVATE dataset repository on the hub: the script form of
`astrobio-hf push-dataset` (same flags; the work is done by `astrobio_hf.sharing.dataset_hub`).

    HF_TOKEN=... python data_scripts/push_dataset.py --source exoplanets_org --data-dir dumps/exoplanets_org \\
        --repo my-org/exoplanets-org
    HF_TOKEN=... python data_scripts/push_dataset.py --from-disk multimodal_dataset --repo my-org/astrobio-mm
"""

from __future__ import annotations

import sys

from _command import run_command

from astrobio_hf.commands.push_dataset import register


def main(argv: list[str] | None = None) -> int:
    return run_command(register, "data_scripts/push_dataset.py", argv)


if __name__ == "__main__":
    sys.exit(main())
