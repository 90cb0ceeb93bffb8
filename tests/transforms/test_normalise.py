import unicodedata

from transforms.normalise import dedup_key, normalise_doc, normalise_text
from transforms.records import Doc


def test_nfc_controls_whitespace_and_paragraphs(texts):
    decomposed = unicodedata.normalize("NFD", texts["fr"])
    assert decomposed != texts["fr"]
    assert normalise_text(decomposed) == normalise_text(texts["fr"])
    messy = "  Erste   Zeile\x00\x07 \t mit Text \r\n\r\n\u2028zweite\x1bZeile\ufeff\u000b dritte  "
    assert normalise_text(messy) == "Erste Zeile mit Text\nzweiteZeile\ndritte"


def test_no_break_spaces_are_kept():
    assert normalise_text("prix\u00a0: 5\u202f€") == "prix\u00a0: 5\u202f€"


def test_normalise_is_idempotent(texts):
    for text in texts.values():
        once = normalise_text(text)
        assert normalise_text(once) == once
        assert "\n\n" not in once and "  " not in once


def test_dedup_key_ignores_case_and_spacing_only(texts):
    text = normalise_text(texts["de"])
    assert dedup_key(text) == dedup_key(text.upper().replace(" ", "  \n"))
    assert dedup_key(text) != dedup_key(text + " x")


def test_normalise_doc_sets_length_and_hash(texts):
    doc = Doc("id", "https://e.org/", "e.org", None, "s@0", "  Titel\n ", "  " + texts["de"] + "\n\n")
    out = normalise_doc(doc)
    assert out.title == "Titel"
    assert out.n_chars == len(out.text) == len(normalise_text(texts["de"]))
    assert out.text_hash == dedup_key(out.text)
    assert doc.text.startswith("  ")  # the input is not mutated


def test_normalise_transform(texts):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from tests.helpers import local_pipeline
    from transforms.normalise import Normalise

    doc = Doc("id", "https://e.org/", "e.org", None, "s@0", None, " \u00a0" + texts["fr"] + "\r\n")
    with local_pipeline() as p:
        out = p | beam.Create([("k", doc)]) | Normalise() | beam.MapTuple(lambda k, d: (k, d.text, d.n_chars))
        expected = normalise_text(doc.text)
        assert_that(out, equal_to([("k", expected, len(expected))]))


def _reference_normalise(text: str) -> str:
    """The specification of normalise_text, one regex pass per line (slow, obviously right)."""
    import re

    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\r\n?|[\v\f\x1c-\x1e\x85\u2028\u2029]", "\n", text)
    text = re.sub(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff\ufffe]", "", text)
    lines = (re.sub(r"[^\S\n\u00a0\u202f]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def test_fast_paths_match_the_reference_on_noisy_real_text(gold):
    import random

    rnd = random.Random(7)
    noise = [" ", "\t", "\x0b", "\x0c", "\r\n", "\r", "\u2028", "\x1f", "\u3000", "\u2003", "\x00",
             "\x85", "  \n ", "\ufeff", "\u200b", "\u00a0", "\u202f", "e\u0301"]
    for page in gold[::5]:
        chars = list(page["text"])
        for _ in range(100):
            chars.insert(rnd.randrange(len(chars) + 1), rnd.choice(noise))
        noisy = "".join(chars)
        assert normalise_text(noisy) == _reference_normalise(noisy)
        without_nbsp = noisy.replace("\u00a0", " ").replace("\u202f", " ")
        assert normalise_text(without_nbsp) == _reference_normalise(without_nbsp)
