"""Inference: a planet's raw inputs -> model inputs (`processing`, `catalog_values`, `astro_io`), the
`habitability-classification` pipeline (`pipeline`) and `predict` for one planet or a prepared dataset (`predict`).

Kept empty of imports so that `import astrobio_hf.inference.x` loads only what x needs.
"""
