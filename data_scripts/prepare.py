#!/usr/bin/env python
"""Build (or reuse) the Arrow cache of an archive source: the script form of `astrobio-hf prepare`.

Same flags as the CLI (they come from `astrobio_hf.commands.prepare`), e.g.::

    python data_scripts/prepare.py --source nasa_exoplanet_archive --data-dir dumps/nasa_exoplanet_archive --json
    python data_scripts/prepare.py --source all --data-dir dumps --cache-dir cache --skip-bad-files
    python data_scripts/prepare.py --dataset multimodal --data-dir dumps --output multimodal_dataset

The work is done by `astrobio_hf.data.prepare.prepare_source` (and `build_multimodal_dataset`).
"""

from __future__ import annotations

import sys

from _command import run_command

from astrobio_hf.commands.prepare import register


def main(argv: list[str] | None = None) -> int:
    return run_command(register, "data_scripts/prepare.py", argv)


if __name__ == "__main__":
    sys.exit(main())
