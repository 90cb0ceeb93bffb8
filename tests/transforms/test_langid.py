import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.helpers import local_pipeline
from transforms.langid import IdentifyLanguage, LanguageIdentifier, dominant_script
from transforms.normalise import normalise_text
from transforms.records import Doc

SCRIPTS = {"en": "Latn", "de": "Latn", "fr": "Latn", "ru": "Cyrl", "uk": "Cyrl", "ja": "Jpan", "zh": "Hani"}


@pytest.fixture(scope="module")
def identifier(config):
    return LanguageIdentifier(config.langid.model_path(), config.langid.max_chars)


def test_lid176_identifies_the_sample_languages(identifier, texts):
    langs = sorted(texts)
    predictions = identifier.predict([normalise_text(texts[lang]) for lang in langs])
    for lang, (predicted, score) in zip(langs, predictions):
        assert predicted == lang, (lang, predicted, score)
        assert 0.5 < score <= 1.0


def test_batch_and_single_predictions_agree(identifier, texts):
    batch = identifier.predict(list(texts.values()))
    singles = [identifier.predict([t])[0] for t in texts.values()]
    assert [lang for lang, _ in batch] == [lang for lang, _ in singles]
    for (_, a), (_, b) in zip(batch, singles):
        assert abs(a - b) < 1e-6


def test_dominant_script(texts):
    for lang, script in SCRIPTS.items():
        if lang in texts:
            assert dominant_script(texts[lang]) == script, lang
    assert dominant_script("1234 !?") == "Zyyy"
    assert dominant_script("한국어 문장") == "Hang"
    assert dominant_script("ls — вывести список") == "Cyrl"


def test_identify_language_transform(config, texts):
    docs = [Doc(f"id-{lang}", f"https://e.org/{lang}", "e.org", None, "s", None, normalise_text(text))
            for lang, text in texts.items()]
    with local_pipeline() as p:
        out = (p | beam.Create([("k", d) for d in docs]) | IdentifyLanguage(config.langid)
               | beam.MapTuple(lambda k, d: (d.id, d.lang, d.script)))
        max_chars = config.langid.max_chars  # the script of the classified prefix
        assert_that(out, equal_to([(f"id-{lang}", lang, dominant_script(normalise_text(texts[lang])[:max_chars]))
                                   for lang in texts]))
