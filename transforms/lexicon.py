"""Bilingual lexicons from FreeDict dictionaries (dictd format), as lexical anchors for alignment.

Debian ships FreeDict as `dict-freedict-<src>-<tgt>` packages (ISO 639-3 names, e.g.
`dict-freedict-deu-eng`), each installing `/usr/share/dictd/freedict-<src>-<tgt>.index` and
`.dict.dz`. The `.index` has one line per lookup key, `key<TAB>offset<TAB>length`, numbers in
dictd's base 64 (`A-Za-z0-9+/`, most significant digit first) pointing into the decompressed
`.dict` (dictzip is gzip with an index in a header field, so plain gzip reads all of it). Each
entry is plain text rendered from TEI by one of three generators, all handled here:

- Ding (deu-eng, eng-deu): one entry per sense; line 2 holds the translations
  (`house <n>, home <n> [Br.]`), then `Note:` / `Synonyms:` / ` see:` lines and examples in quotes;
- classic FreeDict (eng-fra, nld-eng, jpn-eng …): one line of translations per sense, senses
  numbered `1.`, `(1)` or `I.`; the JMdict ones (jpn-*) add grammar lines such as
  `(noun (common) (futsuumeishi))` and sometimes glue a sense's translations to a usage note
  (`Note: archaismto die`);
- WikDict (deu-fra, pol-eng …): each line of translations (numbered when there are several) is
  followed by definitions in the *source* language, with stray numbers (`maison 2.`, ` 3.`).

So per sense only the first line with content counts as translations; pronunciations (`/…/`),
grammar (`<…>`, which also ends a translation), labels (`[…]`), parenthesised notes,
cross-references (`{…}`), notes, examples and definitions are dropped. Translations are split at
commas and semicolons; those with digits ("K-9") or more than 8 words (explanations) are dropped.

Every word or phrase is normalised like running text (`lexicon_tokens`: NFC, casefold, letter
runs only) and its tokens joined by single spaces, so "Sapir-Whorf" is "sapir whorf" and "Straße"
"strasse" on both sides. A phrase translation is kept whole, and when it has at most
`expand_max_words` (3) words its words are indexed too ("tabby cat" also gives "tabby" and
"cat"), so token-level `matches` finds it: a compound such as "Hauskatze" often translates to a
two-word phrase. Longer phrases are mostly paraphrases whose words ("a", "of", "the") would be
noise. Words of one letter and the placeholders sb/sth/jdn/etw/qn… are never indexed alone.
Source headwords are not split: "so schnell wie möglich" is one key that single tokens never hit.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path

# --- tokens ------------------------------------------------------------------------------------

# Letter runs: \w without digits and underscore.
_WORD = re.compile(r"[^\W\d_]+")
# Combining diacritics that NFC could not compose onto their base (Russian stress marks in
# WikDict, "вече́рняя"): removed, so the stressed and plain spellings are the same token.
_LEFTOVER_MARKS = re.compile(r"[\u0300-\u036f]")


def lexicon_tokens(text: str) -> list[str]:
    """Word tokens for lexicon lookups: NFC, casefolded, letter runs only (no digits, no '_').

    Used on dictionary entries and on the sentences to align alike. Scripts written without
    spaces (Chinese, Japanese) come out as one token per run of letters: segment them first.
    """
    text = unicodedata.normalize("NFC", text).casefold()
    if not text.isascii():
        text = _LEFTOVER_MARKS.sub("", text)
    return _WORD.findall(text)


def _phrase(text: str) -> str:
    """A word or phrase as lexicon key: its `lexicon_tokens` joined by single spaces."""
    return " ".join(lexicon_tokens(text))


# Placeholders of dictionary phrases ("come into conflict with sb."), never useful alone.
_PLACEHOLDERS = frozenset(
    "sb sth smb smth sby jd jdn jdm jds etw qn qch qc qqn qqch qqc".split()
)


# --- the lexicon -------------------------------------------------------------------------------

_EMPTY: frozenset[str] = frozenset()


class Lexicon:
    """Source word or phrase → the target words and phrases it translates to.

    Built from phrase-level pairs (normalised with `lexicon_tokens`); the words of target phrases
    of at most `expand_max_words` words are added to each translation set (0: phrases only).
    `normalised=True` takes keys and targets as already normalised (as `read_freedict` gives them).
    `reversed()` inverts the phrase-level pairs, not the added words.
    """

    def __init__(
        self,
        pairs: Mapping[str, Iterable[str]],
        *,
        expand_max_words: int = 3,
        name: str = "",
        normalised: bool = False,
    ):
        self.name = name
        self.expand_max_words = expand_max_words
        if normalised:
            self._phrases: dict[str, tuple[str, ...]] = {
                key: tuple(dict.fromkeys(targets)) for key, targets in pairs.items() if key and targets
            }
        else:
            phrases: dict[str, dict[str, None]] = {}  # dicts as ordered sets
            for source, targets in pairs.items():
                key = _phrase(source)
                if key:
                    bucket = phrases.setdefault(key, {})
                    bucket.update(dict.fromkeys(filter(None, map(_phrase, targets))))
            self._phrases = {key: tuple(bucket) for key, bucket in phrases.items() if bucket}
        # Tuples, not frozensets: a third of the memory, and `set.isdisjoint(tuple)` is as fast.
        self._index: dict[str, tuple[str, ...]] = {
            key: self._expand(targets) for key, targets in self._phrases.items()
        }
        self._sets: dict[str, frozenset[str]] = {}  # translations() results, made on demand
        self._reversed: Lexicon | None = None

    def _expand(self, targets: tuple[str, ...]) -> tuple[str, ...]:
        """`targets` and the words of its short phrases (the same tuple when there are none)."""
        out: dict[str, None] | None = None
        for target in targets:
            if " " in target:
                words = target.split(" ")
                if len(words) <= self.expand_max_words:
                    if out is None:
                        out = dict.fromkeys(targets)
                    out.update(
                        (word, None) for word in words if len(word) > 1 and word not in _PLACEHOLDERS
                    )
        return targets if out is None or len(out) == len(targets) else tuple(out)

    def translations(self, word: str) -> frozenset[str]:
        """Target words and phrases for a source word or phrase (normalised here); empty if none."""
        found = self._sets.get(word)
        if found is None:
            if word in self._index:
                key = word
            elif _DIGIT.search(word):  # "h2o" is not "h o"; keys never hold digits
                return _EMPTY
            else:
                key = _phrase(word)
            targets = self._index.get(key)
            if targets is None:
                return _EMPTY
            found = self._sets[word] = self._sets.setdefault(key, frozenset(targets))
        return found

    def phrase_translations(self, word: str) -> tuple[str, ...]:
        """The dictionary's own translations of `word`, without the added single words."""
        return self._phrases.get(word) or self._phrases.get(_phrase(word), ())

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and bool(self.translations(word))

    def __len__(self) -> int:
        """Number of source entries (distinct normalised headwords)."""
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        """The source words and phrases."""
        return iter(self._index)

    def __repr__(self) -> str:
        return f"Lexicon({self.name or '?'}, {len(self)} entries)"

    def matches(self, src_tokens: Iterable[str], tgt_tokens: Iterable[str]) -> int:
        """How many source tokens have a translation among the target tokens.

        Tokens are expected from `lexicon_tokens` (no normalisation here: set lookups only).
        Repeated source tokens count each time; phrase headwords are not looked up.
        """
        targets = tgt_tokens if isinstance(tgt_tokens, (set, frozenset)) else set(tgt_tokens)
        if not targets:
            return 0
        index = self._index
        count = 0
        for token in src_tokens:
            found = index.get(token)
            if found is not None and not targets.isdisjoint(found):
                count += 1
        return count

    def reversed(self) -> Lexicon:
        """The lexicon in the other direction (built once, then cached on this lexicon)."""
        if self._reversed is None:
            inverse: dict[str, list[str]] = {}
            for source, targets in self._phrases.items():
                for target in targets:
                    inverse.setdefault(target, []).append(source)
            src, _, tgt = self.name.partition("-")
            name = f"{tgt}-{src}" if tgt else self.name
            self._reversed = Lexicon(
                inverse, expand_max_words=self.expand_max_words, name=name, normalised=True
            )
            self._reversed._reversed = self
        return self._reversed


# --- dictd entries -----------------------------------------------------------------------------

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def dictd_number(text: str) -> int:
    """A dictd index number (base 64, alphabet A-Za-z0-9+/, most significant digit first)."""
    value = 0
    for char in text:
        value = value * 64 + _B64[char]
    return value


# Pronunciations "/haʊs/" or "//ˈbɪkə//", not "and/or" or "a / b": after a space or the start.
_PRON = re.compile(r"(?:^|(?<=\s))/+[^/\s][^/]*/+(?=[\s,;]|$)")
_WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")  # WikDict: [[lemma|form]] → form
_BRACKETED = [
    (opening, re.compile(pattern))
    for opening, pattern in (
        ("(", r"\([^()]*\)"), ("[", r"\[[^\[\]]*\]"), ("<", r"<[^<>]*>"), ("{", r"\{[^{}]*\}")
    )
]
# A sense number starting a line: "1.", "(2)", "II." (followed by space or the line's end).
_SENSE = re.compile(r"^(?:(?:\d+|[IVX]+)\.(?=\s|$)|\(\d+\))\s*")
# Sense numbers left inside a line ("I.  <V> 1.  trwać"; WikDict "maison 2.").
_INNER_SENSE = re.compile(r"(?:^|(?<=\s))\d+\.(?=\s|$)")
_DIGIT = re.compile(r"\d")
_NOTE = re.compile(r"^Note:\s*")
# Lines that never hold translations of the headword: cross-references, and eng-pol's phrase
# sub-entries ("2.  cannot abide (:can NEG :abide)" then "- nie znosić").
_SKIP_LINE = re.compile(
    r"^(?:- |(?:Synonyms?|Antonyms?|see|See also|Examples?)\s*:)|\([^()]*:[^\W\d_][^()]*\)",
    re.IGNORECASE,
)
# Examples are indented quotes ('      "ein Haus bauen"  - build a house'); a quote at the margin
# is a translation that is a title ('"Die Zauberflöte" [mus.]').
_QUOTES = "\"„“”«‚‘'"
_SPLIT_TRANSLATIONS = re.compile(r"[,;]")
_SPLIT_HEADWORDS = re.compile(r"(?<=/)\s*,\s+")  # jpn-*: "戦艦 /…/, せんかん /…/"
# JMdict usage labels (jpn-* dictionaries) render as "Note: <label>" and the sense's translations
# are sometimes glued to them ("Note: archaismto die"): the rest after a label is a translation.
_JMDICT_LABELS = sorted(
    (
        "abbreviation", "aphorism", "archaism", "children's language", "colloquialism",
        "company name", "dated term", "derogatory", "euphemistic", "familiar language",
        "female slang", "female term or language", "formal or literary term", "historical term",
        "honorific or respectful (sonkeigo) language", "humble (kenjougo) language",
        "idiomatic expression", "Internet slang", "jocular, humorous term", "male slang",
        "male term or language", "manga slang", "obscure term", "obsolete term",
        "onomatopoeic or mimetic word", "organization name", "person name", "place name",
        "poetical term", "polite (teineigo) language", "product name", "proverb", "quotation",
        "rare", "rude or X-rated term (not displayed in educational software)",
        "rude or X-rated term", "sensitive", "slang", "vulgar expression or word",
        "word usually written using kana alone", "word usually written using kanji alone",
        "yojijukugo",
    ),
    key=len,
    reverse=True,
)  # fmt: skip


def _strip_markup(text: str, tag_sep: str = " ") -> str:
    """Text without pronunciations and (…) […] <…> {…} groups, nested ones included.

    Grammar tags <…> become `tag_sep`: in translation lines a tag ends a translation, even
    where the comma after it is missing (Ding: "as soon as possible <adv>asap")."""
    if "/" in text:
        text = _PRON.sub(" ", text)
    if "[[" in text:
        text = _WIKI_LINK.sub(r"\1", text)
    for opening, pattern in _BRACKETED:
        while opening in text:  # innermost groups first, until none is left
            stripped = pattern.sub(tag_sep if opening == "<" else " ", text)
            if stripped == text:  # unbalanced
                break
            text = stripped
    return text


def _glued_translation(note: str) -> str:
    """The translation glued to a JMdict label in a note ("archaismto die" → "to die"), or ""."""
    for label in _JMDICT_LABELS:
        if note.startswith(label):
            return note[len(label) :]
    return ""


def _phrases(line: str, max_words: int) -> list[str]:
    """A line of translations → its normalised phrases (none with digits or over max_words)."""
    line = _INNER_SENSE.sub(" ", _strip_markup(line, tag_sep=","))
    out = []
    for part in _SPLIT_TRANSLATIONS.split(line):
        if _DIGIT.search(part):
            continue  # "K-9", "3e": the letters alone would be a wrong word
        tokens = lexicon_tokens(part)
        if 0 < len(tokens) <= max_words:
            out.append(sys.intern(" ".join(tokens)))  # shared by the many entries that use it
    return out


def _headwords(header: str, max_words: int) -> list[str]:
    """The headwords of an entry's first line: "plano, plana /…/ /…/ <adj>" gives both words,
    "jeden, den ich kenne /…/" one phrase, "デッキチェア /…/, デッキ・チェア /…/" both forms."""
    out = []
    for form in _SPLIT_HEADWORDS.split(header):
        text = _strip_markup(form)
        if not _WORD.search(text):  # spa-deu: " (misionero /…/ <n, m>),  (misionera /…/ <n, f>)"
            text = _strip_markup(form.replace("(", " ").replace(")", " "))
        parts = _SPLIT_TRANSLATIONS.split(text)
        words = [lexicon_tokens(part) for part in parts if not _DIGIT.search(part)]
        if all(len(tokens) <= 1 for tokens in words):  # spellings or forms of one word
            out.extend(tokens[0] for tokens in words if tokens)  # ("八 /…/, ８, 捌 /…/")
        elif len(words) == len(parts):  # a phrase or a saying with commas, without digits
            tokens = [token for part in words for token in part]
            if len(tokens) <= max_words:
                out.append(" ".join(tokens))
    return out


def parse_entry(text: str, max_words: int = 8) -> tuple[list[str], list[str]]:
    """One dictd entry → (normalised headwords, normalised translations), in order, no repeats.

    Per sense only its first line with content counts. Senses are numbered ("1.", "(1)", "I.")
    or not; once an unnumbered sense has content, numbered lines are definitions (nld-rus:
    "купырь лесной" then "1. Anthriscus sylvestris, plant uit …"). Translations or headwords of
    more than `max_words` words (definitions, proverbs) and those with digits are dropped.
    """
    lines = text.split("\n")
    headwords = dict.fromkeys(_headwords(lines[0], max_words))
    translations: dict[str, None] = {}
    sense_has_content = False
    numbered = None  # whether the entry's senses are numbered, once its first content is seen
    for raw in lines[1:]:
        line = raw.strip()
        if not line or _SKIP_LINE.search(line) or (line[0] in _QUOTES and raw[0].isspace()):
            continue
        note = _NOTE.match(line)
        if note:
            line = _glued_translation(line[note.end() :])
            if not line:
                continue
        marker = _SENSE.match(line)
        if marker:
            line = line[marker.end() :]
            if numbered is False:  # numbered definitions after an unnumbered translation line
                continue
            if not line and raw[0].isspace():  # an indented bare " 3." numbers WikDict
                continue  # definitions; a bare "4." at the margin is a JMdict sense
            numbered = True
            sense_has_content = False
            if not line:
                continue
        if sense_has_content:  # definitions after the sense's translation line
            continue
        found = _phrases(line, max_words)
        translations.update(dict.fromkeys(found))
        sense_has_content = bool(found) or bool(lexicon_tokens(_strip_markup(line)))
        if sense_has_content and numbered is None:
            numbered = False
    return list(headwords), list(translations)


def _read_maybe_gzip(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def read_freedict(index_path: str | os.PathLike, dict_path: str | os.PathLike) -> dict[str, list[str]]:
    """A dictd dictionary → {headword: translations}, phrase-level and normalised.

    Every distinct entry the index points at is parsed once; the `00database…` entries
    (dictionary metadata) are skipped. `dict_path` may be gzip/dictzip-compressed or plain.
    """
    data = _read_maybe_gzip(Path(dict_path))
    entries: dict[tuple[int, int], str] = {}
    with open(index_path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or fields[0].startswith(("00database", "00-database")):
                continue
            try:
                span = (dictd_number(fields[1]), dictd_number(fields[2]))
            except KeyError:
                continue  # not a dictd number: a damaged line
            entries.setdefault(span, fields[0])
    pairs: dict[str, list[str]] = {}
    for (offset, length), key in entries.items():
        text = data[offset : offset + length].decode("utf-8", errors="replace")
        headwords, translations = parse_entry(text)
        if not translations:
            continue
        if not headwords and not _DIGIT.search(key):  # nothing left of the first line
            headwords = [_phrase(key)]
        for headword in headwords:
            if headword:
                pairs.setdefault(headword, []).extend(translations)
    return pairs


def load_freedict(
    index_path: str | os.PathLike, dict_path: str | os.PathLike, *, expand_max_words: int = 3
) -> Lexicon:
    """A `Lexicon` from a dictd `.index` and its `.dict` or `.dict.dz` (not cached: see
    `find_lexicon`)."""
    name = Path(index_path).name.removesuffix(".index").removeprefix("freedict-")
    pairs = read_freedict(index_path, dict_path)
    return Lexicon(pairs, expand_max_words=expand_max_words, name=name, normalised=True)


# --- finding a dictionary ----------------------------------------------------------------------

# ISO 639-1 → the ISO 639-3 codes FreeDict names its dictionaries with.
ISO_639_3 = {
    "af": "afr", "ar": "ara", "bg": "bul", "br": "bre", "ca": "cat", "cs": "ces", "cy": "cym",
    "da": "dan", "de": "deu", "el": "ell", "en": "eng", "eo": "epo", "es": "spa", "fi": "fin",
    "fr": "fra", "ga": "gle", "gd": "gla", "hi": "hin", "hr": "hrv", "hu": "hun", "id": "ind",
    "is": "isl", "it": "ita", "ja": "jpn", "ku": "kur", "la": "lat", "lt": "lit", "mk": "mkd",
    "nb": "nob", "nl": "nld", "nn": "nno", "no": "nor", "oc": "oci", "pl": "pol", "pt": "por",
    "ru": "rus", "sa": "san", "sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe", "sw": "swh",
    "tr": "tur", "uk": "ukr", "wo": "wol", "zh": "zho",
}  # fmt: skip


def _files(directory: str, src: str, tgt: str) -> tuple[str, str] | None:
    """(index, dict) of the `src`-`tgt` dictionary in `directory`, or None."""
    for stem in (f"freedict-{src}-{tgt}", f"{src}-{tgt}"):
        index = os.path.join(directory, stem + ".index")
        if os.path.isfile(index):
            for suffix in (".dict.dz", ".dict", ".dict.gz"):
                if os.path.isfile(index[: -len(".index")] + suffix):
                    return index, index[: -len(".index")] + suffix
    return None


@lru_cache(maxsize=8)
def _load_cached(index_path: str, dict_path: str, expand_max_words: int) -> Lexicon:
    return load_freedict(index_path, dict_path, expand_max_words=expand_max_words)


def find_lexicon(
    src_lang: str,
    tgt_lang: str,
    dirs: Iterable[str | os.PathLike] = ("/usr/share/dictd",),
    *,
    expand_max_words: int = 3,
) -> Lexicon | None:
    """The `src_lang` → `tgt_lang` lexicon (ISO 639-1 or 639-3 codes), or None if not installed.

    Tries `<src>-<tgt>` in every directory, then `<tgt>-<src>` reversed. Loaded dictionaries
    are cached per process (a large one such as deu-eng takes seconds and hundreds of MB).
    """
    src = ISO_639_3.get(src_lang.lower(), src_lang.lower())
    tgt = ISO_639_3.get(tgt_lang.lower(), tgt_lang.lower())
    directories = [os.fspath(d) for d in dirs]
    for a, b, flip in ((src, tgt, False), (tgt, src, True)):
        for directory in directories:
            files = _files(directory, a, b)
            if files:
                lexicon = _load_cached(*files, expand_max_words)
                return lexicon.reversed() if flip else lexicon
    return None
