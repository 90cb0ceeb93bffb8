"""FreeDict lexicons on real dictionary excerpts (tests/data/lexicon, see its README)."""

import gzip
import shutil
import unicodedata
from pathlib import Path

import pytest

from transforms.lexicon import (
    Lexicon,
    dictd_number,
    find_lexicon,
    lexicon_tokens,
    load_freedict,
    parse_entry,
    read_freedict,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "lexicon"


@pytest.fixture(scope="module")
def deu_eng() -> Lexicon:
    return load_freedict(DATA / "freedict-deu-eng.index", DATA / "freedict-deu-eng.dict.dz")


@pytest.fixture(scope="module")
def deu_rus() -> Lexicon:
    return load_freedict(DATA / "freedict-deu-rus.index", DATA / "freedict-deu-rus.dict")


@pytest.fixture(scope="module")
def jpn_eng() -> Lexicon:
    return load_freedict(DATA / "freedict-jpn-eng.index", DATA / "freedict-jpn-eng.dict")


def test_dictd_numbers_are_base64_and_tile_the_dict():
    assert [dictd_number(s) for s in ("A", "B", "z", "0", "+", "/", "BA", "Ehj")] == [
        0, 1, 51, 52, 62, 63, 64, 4 * 4096 + 33 * 64 + 35,
    ]  # fmt: skip
    for name, suffix in (("deu-eng", ".dict.dz"), ("deu-rus", ".dict")):
        data = (DATA / f"freedict-{name}{suffix}").read_bytes()
        if suffix == ".dict.dz":
            data = gzip.decompress(data)
        spans = set()
        for line in (DATA / f"freedict-{name}.index").read_text(encoding="utf-8").splitlines():
            _, offset, length = line.split("\t")
            spans.add((dictd_number(offset), dictd_number(length)))
        spans = sorted(spans)
        assert all(a + n == b for (a, n), (b, _) in zip(spans, spans[1:]))  # entry after entry
        assert spans[0][0] == 0 and sum(n for _, n in spans) == len(data)
        first_entry = data[spans[3][0] : spans[3][0] + spans[3][1]].decode()
        assert not first_entry.startswith("00-database")


def test_lexicon_tokens():
    assert lexicon_tokens("Straße 42, l'eau_froide K-9 über") == [
        "strasse", "l", "eau", "froide", "k", "über",
    ]  # fmt: skip
    assert lexicon_tokens(unicodedata.normalize("NFD", "Über Æsop")) == ["über", "æsop"]
    # Russian stress marks (no precomposed form) are dropped: WikDict writes them, texts don't.
    assert lexicon_tokens("вече́рняя шко́ла") == ["вечерняя", "школа"]
    assert lexicon_tokens("12 345 _ -") == []


def test_ding_entries_give_translations_only(deu_eng):
    haus = deu_eng.translations("Haus")
    assert {"house", "home", "establishment", "institution", "domestic"} <= haus
    assert not haus & {"n", "neut", "sg", "adm", "build", "einrichtung", "häuser", "hˈaʊs"}
    # examples ("ein Haus bauen" - build a house), synonyms and "see:" lines are not translations
    assert "build a house" not in haus and "bet the ranch" not in haus
    assert deu_eng.translations("Stämmigkeit") == {"burliness", "chunkiness", "stockiness"}
    assert deu_eng.translations("und") == {"and", "then"}
    # a note after the translation line: "Note: children's language, budgie <n> [coll.] , …"
    assert deu_eng.translations("Wellensittich") == {"budgerigar", "budgie bird", "budgie", "bird"}
    # "canine <n>, K-9 <n> [Am.]": no "k" from K-9
    assert "canine" in deu_eng.translations("hund") and "k" not in deu_eng.translations("hund")
    assert len(deu_eng) == 12
    assert not any("database" in key for key in deu_eng)


def test_phrases_and_their_words(deu_eng):
    katze = deu_eng.translations("katze")
    assert {"tabby cat", "tabby", "cat", "crane trolley", "crane", "trolley"} <= katze
    assert deu_eng.phrase_translations("katze")[:3] == ("cat", "feline", "tabby")
    # "as soon as possible <adv>asap": the tag ends a translation; 4 words are not split up
    soon = deu_eng.translations("so schnell wie möglich")
    assert {"as soon as possible", "asap"} <= soon and not soon & {"soon", "possible", "as"}
    assert {"reach a place", "reach", "place"} <= deu_eng.translations("gehen")
    assert "a" not in deu_eng.translations("gehen")  # one letter: never on its own
    # a headword with a comma stays one phrase; headwords are normalised like text
    assert "Jeden, den ich kenne" in deu_eng and "jeden" not in deu_eng
    assert deu_eng.translations("jeden den ich kenne") == {"everyone that i know"}
    assert deu_eng.translations("HAUS") == deu_eng.translations("haus")
    assert deu_eng.translations("Hauskatze") == frozenset() and "Hauskatze" not in deu_eng
    assert 42 not in deu_eng
    assert deu_eng.translations("haus2") == frozenset()  # not "haus": keys never hold digits


def test_wikdict_definitions_and_stray_numbers_are_dropped(deu_rus):
    # "дом 2." then 12 German definitions numbered " 3." … " 13."
    assert deu_rus.translations("Haus") == {"дом"}
    # "1. быстрый, скорый 2." / definition / " 3." / definition / "2. быстро" / definition
    assert deu_rus.translations("schnell") == {"быстрый", "скорый", "быстро"}
    assert deu_rus.translations("Hund") == {"пёс", "собака"}  # two entries, merged
    assert deu_rus.translations("Adsorption") == {"адсорбция"}  # "адсо́рбция"
    # "вечерняя школа, вече́рняя шко́ла": the stressed spelling is the same phrase
    assert deu_rus.translations("Abendschule") == {"вечерняя школа", "вечерняя", "школа"}
    gehen = deu_rus.translations("gehen")
    assert {"идти", "ходить", "уйти"} <= gehen
    assert all(word.isascii() is False for word in gehen)  # no German definition words
    assert len(deu_rus) == 19


def test_jmdict_entries(jpn_eng):
    # kanji and kana headwords of one entry; tags and grammar lines dropped
    assert jpn_eng.translations("戦艦") == {"battleship"}
    assert jpn_eng.translations("せんかん") == {
        "battleship", "election administration", "election", "administration",
    }  # fmt: skip
    # translations glued to a usage note: "Note: polite (teineigo) languagerice ball (often …)"
    assert jpn_eng.translations("おにぎり") == {"rice ball", "rice", "ball"}
    assert jpn_eng.translations("御握り") == jpn_eng.translations("おにぎり")
    assert {"god only knows", "heaven knows"} <= jpn_eng.translations("神のみぞ知る")
    # numbered senses, the last a bare "4." then "Note: archaismunit of land area (595.8 m^2)"
    assert jpn_eng.phrase_translations("半") == (
        "half", "semi", "half past", "odd number", "unit of land area",
    )  # fmt: skip
    assert not jpn_eng.translations("半") & {"noun", "common", "futsuumeishi", "prefix"}


@pytest.mark.parametrize(
    "entry, headwords, translations",
    [
        # nld-rus: an unnumbered translation, then numbered Dutch definitions
        ("ontslaan /ˈɔntslaːn/ <v>\nуво́лить\n1. arbeidsovereenkomst beëindigen\n",
         ["ontslaan"], ["уволить"]),
        # eng-pol: roman numerals with grammar tags
        ("philistine /ˈfɪlɪstaɪn/\nI.  <N>  filister, kołtun\nII.  <Adj>  filisterski, kołtuński\n",
         ["philistine"], ["filister", "kołtun", "filisterski", "kołtuński"]),
        # spa-deu: numbered senses
        ("plano /plˈano/ <adj>\n1. eben\n2. platt\n3. glatt\n", ["plano"], ["eben", "platt", "glatt"]),
        # eng-pol: a phrase sub-entry "(:to :the …)" and its translation "- …" are not the word's
        ("ability /əˈbɪlɪtɪ/ <N>\n 1.  zdolność, możliwość\n 2.  to the best of one's "
         "ability/abilities (:to :the :best :of PROPOSS [ability N:|abilities Npl:])\n"
         " - jak najlepiej można\n", ["ability"], ["zdolność", "możliwość"]),
        ("constipated /ˈkɒnstɪpeɪtəd/\n  be constipated (be V: :constipated)\n"
         " - mieć zatwardzenie\n", ["constipated"], []),
        # ita-rus: wiki links [[lemma|form]] keep their form
        ("ricettatore /ritʃetːatˈore/ <n>\n[[ску́пщик]] [[краденый|кра́деного]]\n",
         ["ricettatore"], ["скупщик краденого"]),
        # eng-deu: a title in quotes is a translation (indented quotes are examples)
        ("'The Magic Flute' /ðə mˈadʒɪk flˈuːt/\n\"Die Zauberflöte\" [mus.]\n"
         "         Note: von Mozart / Werktitel\n         Note: by Mozart / work title\n",
         ["the magic flute"], ["die zauberflöte"]),
        # jpn-eng: two written forms, each with its pronunciation; "・" separates words
        ("デッキチェア /dˌe̞kkitɕˈe̞ä/, デッキ・チェア /tˈe̞ (en)dʒˈapəniːz(ja)lˈe̞tə ʔ kˈi "
         "(en)dʒˈapəniːz(ja)lˈe̞tə tɕˈi (en)dʒˈapəniːz(ja)lˈe̞tə ˈä/\n"
         "(noun (common) (futsuumeishi))\ndeck chair\n", ["デッキチェア", "デッキ チェア"], ["deck chair"]),
        # eng-por: spelling variants in the headword
        ("hemophilia, haemophilia /hˌiːməfˈɪliə/ /hˌiːməfˈɪliə/ <s>\nhemofilia\n",
         ["hemophilia", "haemophilia"], ["hemofilia"]),
    ],
)  # fmt: skip
def test_parse_entry_formats(entry, headwords, translations):
    assert parse_entry(entry) == (headwords, translations)


def test_reversed(deu_eng):
    eng_deu = deu_eng.reversed()
    assert eng_deu.name == "eng-deu" and eng_deu.reversed() is deu_eng
    assert deu_eng.reversed() is eng_deu  # built once
    assert eng_deu.translations("house") == {"haus"}
    assert eng_deu.translations("walk") == {"gehen"}
    assert eng_deu.translations("tabby cat") == {"katze"}
    # the dictionary's pairs are reversed, not the words added from phrases
    assert "volta bracket" in eng_deu and "volta" not in eng_deu
    assert {"haus", "hund", "katze"} <= {w for k in eng_deu for w in eng_deu.translations(k)}


def test_matches(deu_eng):
    src = lexicon_tokens("Die Katze schläft im Haus.")
    tgt = lexicon_tokens("The cat sleeps in the house.")
    assert deu_eng.matches(src, tgt) == 2  # katze–cat, haus–house
    assert deu_eng.matches(src, set(tgt)) == 2
    assert deu_eng.reversed().matches(tgt, src) == 2
    assert deu_eng.matches(src, lexicon_tokens("The dog sleeps outside.")) == 0
    assert deu_eng.matches(["haus", "haus", "hund"], ["house", "tub"]) == 3
    assert deu_eng.matches(["katze"], ["tabby"]) == 1  # a word of "tabby cat"
    assert deu_eng.matches(src, []) == 0


def test_lexicon_from_a_mapping():
    lexicon = Lexicon({"Straße": ["street", "road"], "Hauptstraße": ["main street"], "x": []})
    assert lexicon.translations("strasse") == {"street", "road"}
    assert lexicon.translations("hauptstrasse") == {"main street", "main", "street"}
    assert len(lexicon) == 2
    assert Lexicon({"Hauptstraße": ["main street"]}, expand_max_words=0).translations(
        "Hauptstraße"
    ) == {"main street"}


def test_find_lexicon(tmp_path):
    dirs = (str(DATA),)
    deu_eng = find_lexicon("de", "en", dirs)
    assert deu_eng is not None and deu_eng.name == "deu-eng"
    assert find_lexicon("deu", "eng", dirs) is deu_eng  # 639-3 codes too; cached
    eng_deu = find_lexicon("en", "de", dirs)  # no eng-deu here: deu-eng reversed
    assert eng_deu is deu_eng.reversed() and eng_deu.translations("house") == {"haus"}
    assert find_lexicon("ru", "de", dirs).translations("дом") == {"haus"}
    assert find_lexicon("ja", "en", [tmp_path, DATA]).translations("せんかん") >= {"battleship"}
    assert find_lexicon("fr", "de", dirs) is None
    assert find_lexicon("de", "en", (str(tmp_path),)) is None
    assert find_lexicon("uk", "zh", dirs) is None


def test_plain_and_compressed_dict_load_alike(tmp_path, deu_eng):
    shutil.copy(DATA / "freedict-deu-eng.index", tmp_path / "deu-eng.index")
    with gzip.open(DATA / "freedict-deu-eng.dict.dz") as f:
        (tmp_path / "deu-eng.dict").write_bytes(f.read())
    plain = read_freedict(tmp_path / "deu-eng.index", tmp_path / "deu-eng.dict")
    assert plain == read_freedict(DATA / "freedict-deu-eng.index", DATA / "freedict-deu-eng.dict.dz")
    # upstream FreeDict names (deu-eng.index) are found as well
    found = find_lexicon("de", "en", [tmp_path])
    assert found is not None and set(found) == set(deu_eng) and found is not deu_eng
