"""Planet-name normalisation for cross-matching catalogs."""

from astrobio_hf.data.names import build_index, cross_match, normalize_name


def test_spellings_of_one_planet_share_a_key():
    assert normalize_name("HD 209458 b") == normalize_name("hd-209458b") == "hd209458b"
    assert normalize_name("BD +14 4559 b") == normalize_name("BD+14 4559 b")
    assert normalize_name("Gliese 436 b") == normalize_name("GJ 436 b") == normalize_name("Gl 436 b")
    assert normalize_name("epsilon Eri b") == normalize_name("eps Eri b")
    assert normalize_name("upsilon And d") == normalize_name("ups And d")
    assert normalize_name("ＷＡＳＰ－３９ b") == normalize_name("WASP-39 b")  # full-width characters (NFKC)


def test_different_planets_stay_different():
    assert normalize_name("Kepler-10 b") != normalize_name("Kepler-101 b")
    assert normalize_name("BD+20 2457 b") != normalize_name("BD-20 2457 b")  # '+' is kept
    assert normalize_name("GJ 436 b") != normalize_name("GJ 436 c")
    assert normalize_name("Glieseish 1 b") != normalize_name("GJ 1 b")  # prefix only as a whole word + number
    assert normalize_name(None) == normalize_name("  ") == ""


def test_cross_match_pairs():
    left = ["HD 209458 b", "Unknown 1 b", None, "Gliese 876 d"]
    right = ["GJ 876 d", "HD 209458 b", "HD 209458 b"]
    assert cross_match(left, right) == [(0, 1), (3, 0)]
    assert build_index(right) == {"gj876d": 0, "hd209458b": 1}
