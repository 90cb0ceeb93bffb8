import pytest

from transforms.read import Skipped
from transforms.records import Duplicate, Filtered, Reject
from transforms.stats import InvariantError, build_stats, check_invariant, outcome_key


def test_stats_add_up_per_language_and_reason():
    records = [
        Filtered("1", "u", "de", "too_short", "x"),
        Filtered("2", "u", None, "not_html", None),
        Duplicate("3", "u", "9", "v", "exact", 1.0, "de"),
        Reject("f@0", "read", "truncated_record", "cut"),
        Skipped("f@1", "request"),
    ]
    counts = {}
    for r in records:
        counts[outcome_key(r)] = counts.get(outcome_key(r), 0) + 1
    counts[("input_records", "", "")] = 6
    counts[("kept", "", "de")] = 2
    counts[("kept_chars", "", "de")] = 900
    stats = build_stats(counts)
    assert stats["input_records"] == 6 and stats["kept"] == 2
    assert stats["filtered"] == {"not_html": 1, "too_short": 1}
    assert stats["duplicates"] == {"exact": 1}
    assert stats["rejected"] == {"read/truncated_record": 1}
    assert stats["warc_records_skipped"] == {"request": 1}
    assert stats["per_language"]["de"] == {"kept": 2, "chars": 900, "filtered": {"too_short": 1},
                                           "duplicates": {"exact": 1}}
    check_invariant(stats)


def test_a_lost_record_breaks_the_invariant():
    stats = build_stats({("input_records", "", ""): 3, ("kept", "", "de"): 2})
    with pytest.raises(InvariantError, match="3 input records but 2"):
        check_invariant(stats)
