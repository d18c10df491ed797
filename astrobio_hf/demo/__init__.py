"""The embedded demo sample: generated planets in the archives' native formats plus real data shipped in installed
packages (cobra's metabolic models, CMIP6 files of ESMValTool_sample_data). See ``docs/demo.md``."""

from .sample import EARTH_ANALOGUE, MANIFEST, NAMED_PLANETS, describe_sample, write_demo_sample

__all__ = ["EARTH_ANALOGUE", "MANIFEST", "NAMED_PLANETS", "describe_sample", "write_demo_sample"]
