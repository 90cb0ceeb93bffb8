"""Quality signals and their thresholds, on the sample's real pages."""

from __future__ import annotations

from dataclasses import replace

import pytest

from transforms.config import ConfigError, load_config
from transforms.filters import apply_filters
from transforms.langid import dominant_script
from transforms.quality import SIGNALS, failed_threshold, quality_signals, word_spans
from transforms.records import Doc


def page(gold, lang: str, name: str) -> str:
    return next(p["text"] for p in gold if p["lang"] == lang and f"/{name}." in p["url"]
                and not p.get("duplicate_of"))


def signals(text: str, lang: str) -> dict:
    return quality_signals(text, dominant_script(text[:4000]), lang)


def test_words_are_segmented_for_each_kind_of_script(texts):
    zh = texts["zh"]
    starts, ends = word_spans(zh, True, "zh")
    words = [zh[s:e] for s, e in zip(starts, ends)]
    # ICU's dictionary: Chinese words of one to a few characters, not whole clauses
    assert len(words) > 2 * len(zh.split()) and 1.5 < sum(map(len, words)) / len(words) < 4
    assert "。" not in "".join(words) and " " not in "".join(words)
    thai = "ภาษาไทยเป็นภาษาที่สวยงาม"
    assert [thai[s:e] for s, e in zip(*word_spans(thai, True, "th"))] == ["ภาษา", "ไทย", "เป็น", "ภาษา", "ที่", "สวยงาม"]
    hindi = "नमस्ते दुनिया, यह एक परीक्षण है।"  # vowel signs are combining marks: inside the words
    assert [hindi[s:e] for s, e in zip(*word_spans(hindi, False))] == ["नमस्ते", "दुनिया", "यह", "एक", "परीक्षण", "है"]
    astral = "𠀋𠀋 漢字の本です"  # characters outside the BMP: ICU's UTF-16 offsets mapped back
    assert [astral[s:e] for s, e in zip(*word_spans(astral, True, "ja"))][-1] == "です"


def test_signals_of_a_real_page_and_of_its_degenerate_copies(texts):
    de = texts["de"]
    s = signals(de, "de")
    assert set(s) == set(SIGNALS)
    assert 300 < s["words"] < 20_000 and 4 < s["mean_word_len"] < 8 and s["alpha_words"] > 0.9
    assert s["dup_10gram"] < 0.2 and s["dup_lines"] < 0.05
    doubled = signals(de + "\n" + de, "de")  # every n-gram and line occurs twice
    assert doubled["dup_10gram"] > 0.99 and doubled["dup_5gram"] > 0.99
    assert doubled["dup_lines"] == pytest.approx(0.5, abs=0.02) and doubled["words"] == 2 * s["words"]
    first_line = de.split("\n")[2]
    spam = "\n".join([first_line] * 20)
    assert signals(spam, "de")["top_2gram"] > signals(de, "de")["top_2gram"]
    bullets = "\n".join(f"• {line}" for line in de.split("\n") if line.strip())
    assert signals(bullets, "de")["bullet_lines"] == 1.0
    assert signals("", "de")["words"] == 0


def test_shipped_thresholds_keep_real_pages_and_drop_code_tables(gold, config):
    """The sample's 421 original pages: only the ascii(7) tables of character codes go."""
    dropped = {}
    for p in gold:
        if p.get("duplicate_of"):
            continue
        failed = failed_threshold(signals(p["text"], p["lang"]), config.quality.for_lang(p["lang"]))
        if failed:
            dropped[p["url"]] = failed
    assert dropped and all("/man7/ascii.7." in url for url in dropped), dropped
    assert {signal for signal, _ in dropped.values()} <= {"alpha_words", "mean_word_len"}


def test_quality_filter_records_signal_value_and_threshold(gold, config):
    text = page(gold, "fr", "ascii")
    doc = Doc("a" * 32, "https://e.org/fr/ascii", "e.org", None, "x@0", None, text, "fr", 0.99, "Latn",
              len(text), quality=signals(text, "fr"))
    dropped = apply_filters(doc, config)
    assert dropped.reason == "quality:alpha_words" and "< 0.8" in dropped.detail
    off = replace(config, quality=replace(config.quality, enabled=False))
    assert apply_filters(doc, off) is None


def test_threshold_tables_are_checked(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[quality.thresholds.th]\nmin_words = 20\nmax_dup_lines = 0.5\n")
    config = load_config(path)
    assert config.quality.for_lang("th")["min_words"] == 20 and config.quality.for_lang("en")["min_words"] == 50
    assert "min_mean_word_len" not in config.quality.for_lang("th")  # not checked for Thai: not set
    path.write_text("[quality.thresholds.en]\nmin_wordz = 20\n")
    with pytest.raises(ConfigError, match="quality.thresholds.en.min_wordz"):
        load_config(path)


def test_most_frequent_ngram_ties_take_the_longest():
    # "ab cd" and "efghij klmnop" both occur twice: the top 2-gram is the longer one, whatever
    # their hashes
    text = "ab cd ab cd efghij klmnop x efghij klmnop y"
    words = text.split()
    chars = sum(map(len, words))
    assert signals(text, "en")["top_2gram"] == pytest.approx(2 * len("efghijklmnop") / chars)
