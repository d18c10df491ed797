"""Archive builders, modality pipelines and the multimodal dataset."""
