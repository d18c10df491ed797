"""Metabolic networks as torch_geometric graphs: SBML / BiGG JSON models (cobra) and KEGG KGML pathways (Biopython).

Every network becomes a bipartite metabolite/reaction `torch_geometric.data.Data`:

- nodes: the metabolites first (model order; KGML: compound entries in file order, then any other entry a reaction
  uses as substrate or product), then the reactions (model order; KGML: `<reaction>` elements in file order);
- edges: metabolite -> reaction for a substrate, reaction -> metabolite for a product (the direction the reaction is
  written in, also for reversible reactions); within a reaction, edges follow the metabolites' node order;
- `edge_attr [E, 1]` float32: the magnitude of the stoichiometric coefficient (the edge direction carries its sign).
  KGML gives no stoichiometry, so every KGML edge has 1.0;
- `x [N, 64]` float32: the node features below;
- provenance kept on the object: `node_ids` (metabolite/reaction ids; KGML: entry ids), `node_names` (cobra names;
  KGML: the KEGG identifiers, e.g. `cpd:C00022`, `rn:R00200`), `num_metabolites`, `num_reactions`, `source`.

Node features (columns 0-9 are the contract of `astrobio_hf.data.graph_schema`; "M" = metabolite rows,
"R" = reaction rows; every column not filled for a row is 0):

| column | name | rows | meaning and source |
|---|---|---|---|
| 0-5 | C, H, N, O, P, S | M | atoms per element, from the formula parsed by cobra (`Metabolite.elements`) |
| 6 | other_atoms | M | atoms of every other symbol (metals, halogens, generic groups such as R) |
| 7 | charge | M | formal charge (cobra `Metabolite.charge`; KGML: none, 0 and column 13 set) |
| 8 | is_metabolite | M | 1 |
| 9 | is_reaction | R | 1 |
| 10 | formula_unknown | M | 1 when there is no parseable formula (missing, empty, polymer `(...)n`); 0-7 then 0 |
| 11 | formula_generic | M | 1 when the formula holds a symbol that is not an element (R, X): mass unknown |
| 12 | log_molecular_weight | M | ln(1 + g/mol), cobra's atomic weights; 0 when the mass is unknown |
| 13 | charge_unknown | M | 1 when the source gives no charge (cobra charge None; every KGML compound) |
| 14-23 | compartment c, e, p, m, n, x, er, g, v, h | M, R | M: one-hot of the compartment (ids and names resolved with cobra's `compartment_shortlist`: cytosol, extracellular, periplasm, mitochondrion, nucleus, peroxisome, endoplasmic reticulum, golgi, vacuole, chloroplast); R: multi-hot over its metabolites' compartments. KGML: none given, all 0 |
| 24 | compartment_other | M, R | a compartment not in 14-23 |
| 25 | log_in_degree | M, R | ln(1 + number of incoming edges in this graph) |
| 26 | log_out_degree | M, R | ln(1 + number of outgoing edges in this graph) |
| 27 | reversible | R | cobra `Reaction.reversibility`; KGML `type="reversible"` |
| 28 | exchange | R | in cobra `Model.exchanges` |
| 29 | demand | R | in cobra `Model.demands` |
| 30 | sink | R | in cobra `Model.sinks` |
| 31 | transport | R | metabolites in more than one compartment |
| 32 | objective | R | a non-zero coefficient in the model's linear objective |
| 33 | biomass | R | SBO:0000629 annotation, or "biomass" in the reaction id or name |
| 34 | lower_bound_sign | R | sign of the lower flux bound (-1, 0, 1) |
| 35 | upper_bound_sign | R | sign of the upper flux bound (-1, 0, 1) |
| 36 | log_gene_count | R | ln(1 + genes in the GPR rule); KGML: ln(1 + gene/KO ids of the catalysing entry) |
| 37-43 | ec_class_1 .. ec_class_7 | R | multi-hot of the first EC digit of the `ec-code` annotations (KGML: none given) |
| 44-47 | kegg_compound, kegg_ortholog, kegg_gene, kegg_enzyme | M, R | KGML entry type (R: the entry the reaction belongs to) |
| 48 | kegg_other_type | M, R | any other KGML entry type (group, reaction, ...) |
| 49-63 | reserved | - | always 0 (no real attribute assigned yet) |

KGML `map` entries and `<relation>` elements are not nodes or edges of the bipartite graph.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO
from xml.etree import ElementTree

import cobra
import numpy as np
import torch
from cobra.medium.annotations import compartment_shortlist
from cobra.util.solver import linear_reaction_coefficients
from torch_geometric.data import Data

from astrobio_hf.data.graph_schema import (
    CHARGE_COLUMN,
    ELEMENT_COLUMNS,
    FIRST_FREE_COLUMN,
    IS_METABOLITE_COLUMN,
    IS_REACTION_COLUMN,
    NODE_FEATURE_DIM,
    OTHER_ELEMENTS_COLUMN,
)
from astrobio_hf.data.modalities.metabolic_formulas import composition, parse_elements
from astrobio_hf.data.physical_ranges import rule

FORMULA_UNKNOWN_COLUMN = FIRST_FREE_COLUMN  # 10
FORMULA_GENERIC_COLUMN = 11
LOG_MOLECULAR_WEIGHT_COLUMN = 12
CHARGE_UNKNOWN_COLUMN = 13
COMPARTMENTS: tuple[str, ...] = ("c", "e", "p", "m", "n", "x", "er", "g", "v", "h")
COMPARTMENT_COLUMNS: dict[str, int] = {name: 14 + i for i, name in enumerate(COMPARTMENTS)}
OTHER_COMPARTMENT_COLUMN = 24
LOG_IN_DEGREE_COLUMN = 25
LOG_OUT_DEGREE_COLUMN = 26
REVERSIBLE_COLUMN = 27
EXCHANGE_COLUMN = 28
DEMAND_COLUMN = 29
SINK_COLUMN = 30
TRANSPORT_COLUMN = 31
OBJECTIVE_COLUMN = 32
BIOMASS_COLUMN = 33
LOWER_BOUND_SIGN_COLUMN = 34
UPPER_BOUND_SIGN_COLUMN = 35
LOG_GENE_COUNT_COLUMN = 36
EC_CLASS_COLUMNS: dict[int, int] = {ec_class: 36 + ec_class for ec_class in range(1, 8)}  # 37..43
KEGG_ENTRY_TYPES: tuple[str, ...] = ("compound", "ortholog", "gene", "enzyme")
KEGG_TYPE_COLUMNS: dict[str, int] = {name: 44 + i for i, name in enumerate(KEGG_ENTRY_TYPES)}
KEGG_OTHER_TYPE_COLUMN = 48
FIRST_RESERVED_COLUMN = 49
STOICHIOMETRY = rule("metabolic", "stoichiometry")
EDGE_FEATURE_DIM = 1  # edge_attr[:, 0]: |stoichiometric coefficient|

BIOMASS_SBO = "SBO:0000629"
ModelFormat = Literal["bigg_json", "sbml", "kgml"]


class MetabolicGraphError(ValueError):
    """A metabolic model or pathway file that cannot be turned into a graph; the message names the file."""


# ----------------------------------------------------------------------------------------------- file reading


def _open_binary(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _open_text(path: Path) -> TextIO:
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else path.open(encoding="utf-8")


def _require_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        # cobra would otherwise try to parse the path string itself as SBML and fail with a confusing message.
        raise FileNotFoundError(f"metabolic model file not found: {path}")
    return path


def detect_model_format(path: str | Path) -> ModelFormat:
    """`bigg_json` for `.json(.gz)`; for XML the root element decides: `<sbml>` or KGML `<pathway>`."""
    path = _require_file(path)
    stem = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    if stem.lower().endswith(".json"):
        return "bigg_json"
    try:
        with _open_binary(path) as handle:
            for _event, element in ElementTree.iterparse(handle, events=("start",)):
                root = element.tag.rsplit("}", 1)[-1]
                break
            else:  # pragma: no cover - iterparse raises on an empty document before getting here
                raise MetabolicGraphError(f"{path}: empty XML document")
    except ElementTree.ParseError as exc:
        raise MetabolicGraphError(f"{path}: not well-formed XML ({exc})") from exc
    except (OSError, EOFError) as exc:  # a broken .gz
        raise MetabolicGraphError(f"{path}: cannot read ({exc})") from exc
    if root == "sbml":
        return "sbml"
    if root == "pathway":
        return "kgml"
    raise MetabolicGraphError(f"{path}: XML root <{root}> is neither SBML <sbml> nor KEGG KGML <pathway>")


def read_cobra_model(path: str | Path) -> Any:
    """A `cobra.Model` from SBML (`.xml`, `.sbml`, `.xml.gz`) or BiGG JSON (`.json`, `.json.gz`).

    cobra's own errors (CobraSBMLError, JSON decoding, missing keys) are re-raised as `MetabolicGraphError` naming
    the file; a model without reactions is refused here too.
    """
    path = _require_file(path)
    kind = detect_model_format(path)
    if kind == "kgml":
        raise MetabolicGraphError(f"{path}: is a KEGG KGML pathway, not a constraint-based model; use read_kgml")
    try:
        if kind == "bigg_json":
            with _open_text(path) as handle:
                text = handle.read()
            _check_json_coefficients(path, text)
            model = cobra.io.load_json_model(io.StringIO(text))
        else:
            model = cobra.io.read_sbml_model(str(path))
    except MetabolicGraphError:
        raise
    except Exception as exc:  # cobra's readers raise many types (CobraSBMLError, KeyError, JSONDecodeError, ...)
        if kind == "bigg_json":
            raise MetabolicGraphError(f"{path}: not a valid BiGG JSON model ({type(exc).__name__}: {exc})") from exc
        raise MetabolicGraphError(f"{path}: not a valid SBML model: {_sbml_problem(path, exc)}") from exc
    if len(model.reactions) == 0:
        raise MetabolicGraphError(f"{path}: model {model.id!r} has no reactions")
    return model


def _check_json_coefficients(path: Path, text: str) -> None:
    """Every BiGG JSON coefficient is a number (cobra fails on a text one without naming its reaction)."""
    try:
        reactions = json.loads(text).get("reactions") or []
    except (ValueError, AttributeError):
        return  # cobra's reader reports what is wrong with the document
    for reaction in reactions if isinstance(reactions, list) else []:
        for met, coefficient in ((reaction.get("metabolites") or {}) if isinstance(reaction, dict) else {}).items():
            if isinstance(coefficient, bool) or not isinstance(coefficient, (int, float)):
                raise MetabolicGraphError(f"{path}: reaction {reaction.get('id')!r}, metabolite {met!r}: "
                                          f"stoichiometric coefficient {coefficient!r} is not a number")


def _sbml_problem(path: Path, exc: BaseException) -> str:
    """Where an SBML file is broken: libSBML's first error with line and column (cobra's message names
    none), else the error cobra's message wraps (an unknown species id, ...)."""
    import libsbml

    document = libsbml.readSBMLFromFile(str(path))
    errors = [document.getError(i) for i in range(document.getNumErrors())
              if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        return f"line {first.getLine()}, column {first.getColumn()}: {' '.join(first.getMessage().split())}{more}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        where = ""
        if isinstance(cause, KeyError) and cause.args:  # an id referenced but never defined: find its line
            with _open_text(path) as handle:
                for number, line in enumerate(handle, start=1):
                    if str(cause.args[0]) in line:
                        where = f"line {number}: "
                        break
            return f"{where}reference to undefined id {cause.args[0]!r} (cobra: {type(exc).__name__})"
        return f"{type(cause).__name__}: {cause} (while cobra built the model; {type(exc).__name__})"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def read_kgml(path: str | Path) -> Any:
    """A Biopython `KGML_pathway.Pathway` from a KGML file (`.xml` or `.xml.gz`; DOCTYPE and PIs are fine)."""
    from Bio.KEGG.KGML import KGML_parser

    path = _require_file(path)
    try:
        with _open_binary(path) as handle:
            return KGML_parser.read(handle)
    except ElementTree.ParseError as exc:
        raise MetabolicGraphError(f"{path}: not well-formed XML, so not KGML ({exc})") from exc
    except (ValueError, TypeError, KeyError) as exc:  # no <pathway>, non-integer entry ids, dangling reaction id
        raise MetabolicGraphError(f"{path}: not a valid KEGG KGML pathway ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise MetabolicGraphError(f"{path}: cannot read ({exc})") from exc


def load_metabolic_graph(path: str | Path, *, compound_formulas: Mapping[str, str] | None = None) -> Data:
    """Read any supported file (format detected from the name and XML root) and return its graph.

    `compound_formulas` (KEGG compound id -> formula, see `metabolic_formulas.load_kegg_compound_formulas`) is
    used for KGML only.
    """
    path = _require_file(path)
    if detect_model_format(path) == "kgml":
        return kgml_to_graph(read_kgml(path), source=str(path), compound_formulas=compound_formulas)
    return cobra_model_to_graph(read_cobra_model(path), source=str(path))


# ------------------------------------------------------------------------------------------- feature helpers


def _fill_formula(row: np.ndarray, formula: str | None) -> None:
    parsed = composition(parse_elements(formula))
    if parsed is None:
        row[FORMULA_UNKNOWN_COLUMN] = 1.0
        return
    row[list(ELEMENT_COLUMNS)] = parsed.counts
    row[OTHER_ELEMENTS_COLUMN] = parsed.other_atoms
    row[FORMULA_GENERIC_COLUMN] = float(parsed.has_generic_symbol)
    if parsed.molecular_weight is not None:
        row[LOG_MOLECULAR_WEIGHT_COLUMN] = math.log1p(parsed.molecular_weight)


def _compartment_resolver(compartment_names: Mapping[str, str]) -> dict[str, str | None]:
    """Model compartment id -> one of COMPARTMENTS (or None), via cobra's table of compartment synonyms."""
    synonyms = {key.lower(): key for key in compartment_shortlist}
    for key, names in compartment_shortlist.items():
        synonyms.update({name.lower(): key for name in names})
    resolved: dict[str, str | None] = {}
    for compartment_id, name in compartment_names.items():
        key = synonyms.get(str(compartment_id).lower()) or synonyms.get(str(name or "").strip().lower())
        resolved[compartment_id] = key if key in COMPARTMENT_COLUMNS else None
    return resolved


def _compartment_column(compartment: str | None, resolver: Mapping[str, str | None]) -> int:
    key = resolver.get(compartment) if compartment is not None else None
    return COMPARTMENT_COLUMNS[key] if key is not None else OTHER_COMPARTMENT_COLUMN


def _ec_classes(ec_codes: str | Sequence[str] | None) -> set[int]:
    if not ec_codes:
        return set()
    codes = [ec_codes] if isinstance(ec_codes, str) else list(ec_codes)
    classes = set()
    for code in codes:
        first = str(code).strip().removeprefix("EC:").split(".", 1)[0]
        if first.isdigit() and int(first) in EC_CLASS_COLUMNS:
            classes.add(int(first))
    return classes


def _sign(value: float) -> float:
    return float(np.sign(value)) if math.isfinite(value) else math.copysign(1.0, value)


def _assemble(
    x: np.ndarray,
    sources: list[int],
    targets: list[int],
    coefficients: list[float],
    *,
    node_ids: list[str],
    node_names: list[str],
    num_metabolites: int,
    source: str,
) -> Data:
    """Fill the degree columns and wrap everything into a `Data` object."""
    edge_index = torch.tensor([sources, targets], dtype=torch.long).reshape(2, -1)
    num_nodes = x.shape[0]
    in_degree = np.bincount(np.asarray(targets, dtype=np.int64), minlength=num_nodes)
    out_degree = np.bincount(np.asarray(sources, dtype=np.int64), minlength=num_nodes)
    x[:, LOG_IN_DEGREE_COLUMN] = np.log1p(in_degree)
    x[:, LOG_OUT_DEGREE_COLUMN] = np.log1p(out_degree)
    data = Data(
        x=torch.from_numpy(x.astype(np.float32)),
        edge_index=edge_index,
        edge_attr=torch.tensor(coefficients, dtype=torch.float32).reshape(-1, EDGE_FEATURE_DIM),
    )
    data.node_ids = node_ids
    data.node_names = node_names
    data.num_metabolites = num_metabolites
    data.num_reactions = num_nodes - num_metabolites
    data.source = source
    return data


# ---------------------------------------------------------------------------------------------- cobra models


def _boundary_ids(model: Any, kind: str) -> set[str]:
    try:
        return {reaction.id for reaction in getattr(model, kind)}
    except RuntimeError:  # cobra cannot tell the external compartment (no boundary reactions, ambiguous names)
        return set()


def cobra_model_to_graph(model: Any, *, source: str | None = None, reactions: Iterable[Any] | None = None) -> Data:
    """The bipartite graph of a `cobra.Model`, or of the subnetwork of `reactions` (ids or Reaction objects).

    A subnetwork keeps only the metabolites its reactions use; degrees are counted within the subnetwork, while
    exchange/demand/sink/objective flags come from the whole model. Zero coefficients are skipped; a non-finite
    coefficient raises `MetabolicGraphError` naming the reaction and metabolite.
    """
    source = source if source is not None else f"cobra model {model.id!r}"
    if reactions is None:
        selected = list(model.reactions)
        metabolites = list(model.metabolites)
    else:
        selected = [model.reactions.get_by_id(r) if isinstance(r, str) else r for r in reactions]
        used = {met.id for reaction in selected for met in reaction.metabolites}
        metabolites = [met for met in model.metabolites if met.id in used]
    if not selected:
        raise MetabolicGraphError(f"{source}: model {model.id!r} has no reactions (nothing to build a graph from)")

    resolver = _compartment_resolver(dict(model.compartments))
    exchanges, demands, sinks = (_boundary_ids(model, kind) for kind in ("exchanges", "demands", "sinks"))
    objective = {reaction.id for reaction, coef in linear_reaction_coefficients(model).items() if coef != 0}
    metabolite_index = {met.id: i for i, met in enumerate(metabolites)}
    num_metabolites = len(metabolites)
    x = np.zeros((num_metabolites + len(selected), NODE_FEATURE_DIM), dtype=np.float64)

    for i, met in enumerate(metabolites):
        row = x[i]
        row[IS_METABOLITE_COLUMN] = 1.0
        _fill_formula(row, met.formula)
        if met.charge is None or not math.isfinite(float(met.charge)):
            row[CHARGE_UNKNOWN_COLUMN] = 1.0
        else:
            row[CHARGE_COLUMN] = float(met.charge)
        row[_compartment_column(met.compartment, resolver)] = 1.0

    sources: list[int] = []
    targets: list[int] = []
    coefficients: list[float] = []
    for j, reaction in enumerate(selected):
        node = num_metabolites + j
        row = x[node]
        row[IS_REACTION_COLUMN] = 1.0
        stoichiometry = sorted(reaction.metabolites.items(), key=lambda item: metabolite_index[item[0].id])
        for met, coefficient in stoichiometry:
            coefficient = float(coefficient)
            if math.isnan(coefficient):  # libSBML reads an empty or non-numeric stoichiometry attribute as NaN
                raise MetabolicGraphError(f"{source}: reaction {reaction.id!r}, metabolite {met.id!r}: stoichiometric "
                                          "coefficient is not a number (NaN: the file writes it empty, as text or as NaN)")
            if not math.isfinite(coefficient) or STOICHIOMETRY.outside(np.array([coefficient])).any():
                # beyond the physical range the float32 edge feature would overflow to inf
                raise MetabolicGraphError(
                    f"{source}: reaction {reaction.id!r}, metabolite {met.id!r}: stoichiometric coefficient "
                    f"{coefficient!r} is outside its possible range {STOICHIOMETRY.describe()} ({STOICHIOMETRY.why})"
                )
            if coefficient == 0.0:
                continue
            met_node = metabolite_index[met.id]
            sources.append(met_node if coefficient < 0 else node)
            targets.append(node if coefficient < 0 else met_node)
            coefficients.append(abs(coefficient))
            row[_compartment_column(met.compartment, resolver)] = 1.0
        row[REVERSIBLE_COLUMN] = float(reaction.reversibility)
        row[EXCHANGE_COLUMN] = float(reaction.id in exchanges)
        row[DEMAND_COLUMN] = float(reaction.id in demands)
        row[SINK_COLUMN] = float(reaction.id in sinks)
        row[TRANSPORT_COLUMN] = float(len({met.compartment for met in reaction.metabolites}) > 1)
        row[OBJECTIVE_COLUMN] = float(reaction.id in objective)
        sbo = reaction.annotation.get("sbo", "")
        sbo_terms = {sbo} if isinstance(sbo, str) else set(sbo)
        row[BIOMASS_COLUMN] = float(
            BIOMASS_SBO in sbo_terms or "biomass" in reaction.id.lower() or "biomass" in (reaction.name or "").lower()
        )
        row[LOWER_BOUND_SIGN_COLUMN] = _sign(reaction.lower_bound)
        row[UPPER_BOUND_SIGN_COLUMN] = _sign(reaction.upper_bound)
        row[LOG_GENE_COUNT_COLUMN] = math.log1p(len(reaction.genes))
        for ec_class in _ec_classes(reaction.annotation.get("ec-code")):
            row[EC_CLASS_COLUMNS[ec_class]] = 1.0

    return _assemble(
        x,
        sources,
        targets,
        coefficients,
        node_ids=[met.id for met in metabolites] + [reaction.id for reaction in selected],
        node_names=[met.name or "" for met in metabolites] + [reaction.name or "" for reaction in selected],
        num_metabolites=num_metabolites,
        source=source,
    )


# ---------------------------------------------------------------------------------------------- KEGG KGML


def _kegg_type_column(entry_type: str | None) -> int:
    return KEGG_TYPE_COLUMNS.get(entry_type or "", KEGG_OTHER_TYPE_COLUMN)


def _kegg_formula(entry_name: str, compound_formulas: Mapping[str, str]) -> str | None:
    """The first formula found for the ids of a KGML compound entry (`cpd:C00022`, `gl:G00001 ...`)."""
    for token in entry_name.split():
        formula = compound_formulas.get(token.split(":", 1)[-1]) or compound_formulas.get(token)
        if formula:
            return formula
    return None


def kgml_to_graph(
    pathway: Any, *, source: str | None = None, compound_formulas: Mapping[str, str] | None = None
) -> Data:
    """The bipartite graph of a Biopython KGML `Pathway` (compounds + `<reaction>` elements).

    Element columns come from `compound_formulas` (KEGG compound id -> formula, e.g. from the KEGG COMPOUND flat
    file); compounds without one are flagged `formula_unknown`. Every edge has coefficient 1.0 (KGML gives none).
    """
    source = source if source is not None else f"KGML {getattr(pathway, 'name', '?')}"
    compound_formulas = compound_formulas or {}
    reactions = list(pathway.reactions)
    if not reactions:
        raise MetabolicGraphError(
            f"{source}: pathway {getattr(pathway, 'name', '?')!r} has no <reaction> elements (not a metabolic map?)"
        )
    entries = pathway.entries
    for reaction in reactions:
        for role, ids in (("substrate", reaction._substrates), ("product", reaction._products)):
            # Biopython checks a reaction's own id but not the ids of its substrates and products.
            missing = sorted(i for i in ids if i not in entries)
            if missing:
                raise MetabolicGraphError(
                    f"{source}: reaction entry {reaction.id} ({reaction.name}): {role} id(s) {missing} have no <entry>"
                )

    metabolite_ids = [entry_id for entry_id, entry in entries.items() if entry.type == "compound"]
    referenced = {i for reaction in reactions for i in reaction.reactant_ids}
    metabolite_ids += [entry_id for entry_id in entries if entry_id in referenced and entry_id not in metabolite_ids]
    metabolite_index = {entry_id: i for i, entry_id in enumerate(metabolite_ids)}
    num_metabolites = len(metabolite_ids)
    x = np.zeros((num_metabolites + len(reactions), NODE_FEATURE_DIM), dtype=np.float64)

    for i, entry_id in enumerate(metabolite_ids):
        entry = entries[entry_id]
        row = x[i]
        row[IS_METABOLITE_COLUMN] = 1.0
        _fill_formula(row, _kegg_formula(entry.name, compound_formulas))
        row[CHARGE_UNKNOWN_COLUMN] = 1.0  # KEGG COMPOUND records carry no formal charge
        row[_kegg_type_column(entry.type)] = 1.0

    sources: list[int] = []
    targets: list[int] = []
    for j, reaction in enumerate(reactions):
        node = num_metabolites + j
        row = x[node]
        row[IS_REACTION_COLUMN] = 1.0
        for substrate in sorted(reaction._substrates, key=metabolite_index.__getitem__):
            sources.append(metabolite_index[substrate])
            targets.append(node)
        for product in sorted(reaction._products, key=metabolite_index.__getitem__):
            sources.append(node)
            targets.append(metabolite_index[product])
        row[REVERSIBLE_COLUMN] = float(reaction.type == "reversible")
        catalyst = entries[reaction.id]
        row[_kegg_type_column(catalyst.type)] = 1.0
        gene_ids = [token for token in (catalyst.name or "").split() if token != "undefined"]
        row[LOG_GENE_COUNT_COLUMN] = math.log1p(len(gene_ids))

    return _assemble(
        x,
        sources,
        targets,
        [1.0] * len(sources),
        node_ids=[str(entry_id) for entry_id in metabolite_ids] + [str(reaction.id) for reaction in reactions],
        node_names=[entries[entry_id].name for entry_id in metabolite_ids] + [r.name for r in reactions],
        num_metabolites=num_metabolites,
        source=source,
    )
