import itertools
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.helpers import local_pipeline
from transforms.dedup import DocKey, ExactDedup, resolve_exact_duplicates
from transforms.normalise import normalise_doc
from transforms.records import Doc

EARLY = datetime(2023, 5, 1, tzinfo=timezone.utc)
LATE = datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_representative_is_independent_of_order():
    members = [
        DocKey("b" * 32, "https://mirror.example.org/de/ls.1.html", "de", EARLY, 100),
        DocKey("a" * 32, "https://example.org/de/ls.1.html", "de", LATE, 100),
        DocKey("c" * 32, "https://example.org/de/dir.1.html", "de", EARLY, 100),
    ]
    outcomes = set()
    for perm in itertools.permutations(members):
        dups = resolve_exact_duplicates(perm)
        outcomes.add(tuple(sorted((d.id, d.duplicate_of) for _, d in dups)))
    assert len(outcomes) == 1
    (result,) = outcomes
    # earliest fetch wins; between the two early copies, the shorter URL
    assert {dup_of for _, dup_of in result} == {"c" * 32}
    assert {i for i, _ in result} == {"a" * 32, "b" * 32}


def test_singletons_are_not_duplicates():
    assert resolve_exact_duplicates([DocKey("a" * 32, "u", "de", None, 1)]) == []


def test_exact_dedup_transform(texts):
    def doc(i, url, text):
        return normalise_doc(Doc(f"{i:032x}", url, "e.org", EARLY, f"s@{i}", None, text, lang="de"))

    docs = [
        doc(1, "https://e.org/a", texts["de"]),
        doc(2, "https://e.org/copy-of-a", texts["de"].upper()),  # same text but for case
        doc(3, "https://e.org/b", texts["fr"]),
        doc(4, "https://e.org/copy-of-copy-of-a", "  " + texts["de"]),
    ]
    with local_pipeline() as p:
        pairs = (p | beam.Create(docs) | ExactDedup()).removed
        out = pairs | beam.MapTuple(lambda key, d: (d.id, d.duplicate_of, d.duplicate_of_url, d.kind, d.similarity, key.id))
        a = f"{1:032x}"
        assert_that(out, equal_to([
            (f"{2:032x}", a, "https://e.org/a", "exact", 1.0, f"{2:032x}"),
            (f"{4:032x}", a, "https://e.org/a", "exact", 1.0, f"{4:032x}"),
        ]))
