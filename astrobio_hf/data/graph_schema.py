"""The node-feature layout of metabolic graphs: the contract between the graph pipeline and the graph VAE.

Node features are float32 vectors of NODE_FEATURE_DIM columns. The first columns are fixed here because the
graph VAE's elemental-balance constraint reads them; the remaining columns are defined (and documented) by
`astrobio_hf.data.modalities.metabolic_graphs`.
"""

from __future__ import annotations

NODE_FEATURE_DIM = 64

# Raw atom counts per metabolite, parsed from its chemical formula (0 for reaction nodes).
ELEMENTS: tuple[str, ...] = ("C", "H", "N", "O", "P", "S")
ELEMENT_COLUMNS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
OTHER_ELEMENTS_COLUMN = 6  # atoms of any element not in ELEMENTS (metals, halogens, R groups)
CHARGE_COLUMN = 7  # formal charge of a metabolite
IS_METABOLITE_COLUMN = 8
IS_REACTION_COLUMN = 9
FIRST_FREE_COLUMN = 10  # columns from here on belong to the graph pipeline
