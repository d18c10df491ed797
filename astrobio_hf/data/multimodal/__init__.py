"""The multimodal dataset: one row per planet, every modality optional, with labels, provenance and host splits.

``build_multimodal_dataset(config) -> (DatasetDict, MultimodalSpec, MultimodalReport)``; the rows follow
:mod:`astrobio_hf.data.multimodal_schema` (absent modality = zeros + mask False). Steps, each documented in
``docs/data.md`` ("Multimodal dataset"):

1. planets: the NASA Exoplanet Archive builder (``pscomppars`` dump or TAP), one row per normalised planet name
   (later duplicates dropped and counted), optional filters (``planets``, ``hosts``, ``max_planets``);
2. exoplanets.org (optional): cross-matched by normalised planet name; a match adds a provenance entry (the
   cross-match flag) and, when ``fill_from_exoplanets_org``, fills catalog gaps (see ``EOD_FILLS``);
3. labels (:mod:`labels`, Kopparapu 2014), ``planet_params`` (:mod:`planet_features`), ``text``
   (:mod:`text_templates`), host splits (:mod:`splits`);
4. light curves, spectra, climate cubes and metabolic graphs joined by the rules of :mod:`joins`."""

from .build import build_multimodal_dataset
from .catalog import EOD_FILLS
from .config import (
    DATA_DIR_LAYOUT,
    MultimodalBuildConfig,
    MultimodalBuildError,
    MultimodalReport,
    config_from_data_dir,
    save_build_report,
)

__all__ = ["MultimodalBuildConfig", "MultimodalBuildError", "MultimodalReport", "build_multimodal_dataset",
           "config_from_data_dir", "save_build_report", "DATA_DIR_LAYOUT", "EOD_FILLS"]
