import tomllib

from transforms.config import load_config
from transforms.filters import apply_filters
from transforms.records import Doc


def doc(text, lang="de", score=0.9):
    return Doc("id", "https://e.org/", "e.org", None, "s", None, text, lang, score, "Latn", len(text))


def test_short_documents_are_filtered(texts):
    config = load_config()
    short = texts["de"][: config.filters.min_chars - 1]
    result = apply_filters(doc(short), config)
    assert result.reason == "too_short" and result.text == short and result.lang == "de"
    assert apply_filters(doc(texts["de"]), config) is None


def test_language_thresholds_come_from_the_config_table(tmp_path, texts):
    user = tmp_path / "build.toml"
    user.write_text("[langid.min_score]\nde = 0.95\n")
    config = load_config(user)
    low = apply_filters(doc(texts["de"], "de", 0.9), config)
    assert low.reason == "lang_low_score" and "0.95" in low.detail
    # other languages keep the default threshold
    assert apply_filters(doc(texts["fr"], "fr", 0.9), config) is None
    assert apply_filters(doc(texts["fr"], "fr", 0.3), config).reason == "lang_low_score"
    assert tomllib.loads(user.read_text())["langid"]["min_score"]["de"] == config.langid.threshold("de")


def test_filter_documents_dofn(texts):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from tests.helpers import local_pipeline
    from transforms.filters import FilterDocuments

    config = load_config()
    docs = [doc(texts["de"], "de", 0.99), doc(texts["fr"][:50], "fr", 0.99), doc(texts["it"], "it", 0.2)]
    docs = [d.__class__(**{**{f: getattr(d, f) for f in d.__slots__}, "id": f"id{i}"}) for i, d in enumerate(docs)]
    with local_pipeline() as p:
        out = p | beam.Create(docs) | beam.ParDo(FilterDocuments(config)).with_outputs("filtered", main="docs")
        assert_that(out.docs | "Ids" >> beam.Map(lambda d: d.id), equal_to(["id0"]), label="kept")
        assert_that(out.filtered | "Reasons" >> beam.Map(lambda f: (f.id, f.reason)),
                    equal_to([("id1", "too_short"), ("id2", "lang_low_score")]), label="filtered")
