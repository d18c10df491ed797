"""`python -m astrobio_hf.demo`: run the offline CPU demo (see run.py)."""

import sys

from .run import main

sys.exit(main())
