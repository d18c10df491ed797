#!/usr/bin/env python
"""Check every archive source (endpoint, tokens, a sample parse): the script form of `astrobio-hf validate-sources`.

Same flags as the CLI (they come from `astrobio_hf.commands.validate_sources`), e.g.::

    python data_scripts/validate_sources.py                           # all 13 sources, network probes
    python data_scripts/validate_sources.py --offline --data-dir dumps --json
    python data_scripts/validate_sources.py --source uniprot gtdb --timeout 5

Exit code 1 when a check fails. The checks are `astrobio_hf.data.validate.validate_sources`.
"""

from __future__ import annotations

import sys

from _command import run_command

from astrobio_hf.commands.validate_sources import register


def main(argv: list[str] | None = None) -> int:
    return run_command(register, "data_scripts/validate_sources.py", argv)


if __name__ == "__main__":
    sys.exit(main())
