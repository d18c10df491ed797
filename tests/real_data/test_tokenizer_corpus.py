"""The tokenizer corpus from real annotation files, and the BPE tokenizer trained on it."""

from __future__ import annotations

import json

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from astrobio_hf.cli import main
from astrobio_hf.text.corpus import build_corpus, genbank_texts, metabolic_model_texts, uniprot_texts
from astrobio_hf.text.tokenizer import train_bpe_tokenizer

DESCRIPTION = "WASP-39 b orbits WASP-39 every 4.06 days; its equilibrium temperature is about 1166 K."


def test_real_annotation_texts(real_data_dir):
    genbank = list(genbank_texts(real_data_dir / "ncbi_genbank" / "NC_005816.gb"))
    assert genbank[0].startswith("Yersinia pestis biovar Microtus str. 91001 plasmid pPCP1")
    assert len(genbank) == 1 + 10  # the definition + the plasmid's 10 CDS
    uniprot = list(uniprot_texts(real_data_dir / "uniprot" / "multi_ex.txt"))
    assert any("Tissue-type plasminogen activator" in t for t in uniprot)
    reactions = list(metabolic_model_texts(real_data_dir / "kegg_metabolic" / "sbml_bigg" / "e_coli_core.json"))
    assert len(reactions) == 95 and any(t.lower().startswith("phosphofructokinase:") for t in reactions)


def test_tokenizer_trained_on_the_corpus_round_trips(real_data_dir, tmp_path):
    corpus = build_corpus([DESCRIPTION] * 20, genbank=[real_data_dir / "ncbi_genbank" / "NC_005816.gb"],
                          uniprot=[real_data_dir / "uniprot" / "multi_ex.txt"],
                          metabolic=[real_data_dir / "kegg_metabolic" / "sbml_bigg" / "e_coli_core.json"])
    tokenizer = train_bpe_tokenizer(corpus, vocab_size=600)
    assert isinstance(tokenizer, PreTrainedTokenizerFast) and len(tokenizer) <= 600
    text = "Phosphofructokinase (EC 2.7.1.11) on a temperate planet: 288 K, ü and µm survive byte-level BPE."
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(tokenizer(DESCRIPTION)["input_ids"]) < len(DESCRIPTION.encode()) / 3  # learned the domain text
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == ids


def test_tokenizer_command(real_data_dir, tmp_path, capsys):
    assert main(["tokenizer", "--uniprot", str(real_data_dir / "uniprot" / "multi_ex.txt"), "--vocab-size", "400",
                 "--output", str(tmp_path / "tok")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["texts"] > 8 and (tmp_path / "tok" / "tokenizer.json").is_file()
    assert main(["tokenizer", "--genbank", str(real_data_dir / "uniprot" / "multi_ex.txt"),
                 "--output", str(tmp_path / "bad")]) == 1
    assert "multi_ex.txt: cannot read annotation text" in capsys.readouterr().err
