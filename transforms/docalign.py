"""Document alignment: which documents of a host are translations of each other.

Three kinds of evidence, none needing a translation model:

- **hreflang**: a page's `<link rel=alternate hreflang>` / language-switcher links (`Doc.alternates`,
  read from the HTML at extraction) name its other-language versions;
- **url**: two URLs that differ only by a language marker — a path segment (`/de/`), a sub-domain
  (`de.example.org`), a query parameter (`?lang=de`), a file-name part (`page.de.html`,
  `page_de.html`) — or where one has a marker and the other none (`/de/x.html` ~ `/x.html`);
- **content**: tokens that survive translation (numbers, URLs, names, commands, code — rare in the
  host, so weighted by their inverse document frequency there) and the paragraph profile, so that
  pages whose URLs carry no language marker are still paired.

Every candidate pair gets a content score in [0, 1]; conflicts are resolved per language pair by
competitive linking, deterministically: candidates in order of (evidence rank, score, ids), each
accepted if neither document is already paired with a document of the other's language. So a
document pairs with at most one document per other language.

Markers are only stripped when they name the document's own (identified) language: `/it/` in an
English page's URL is a path, not Italian.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

from transforms.records import pickled_as_tuple

METHOD_RANK = {"hreflang": 0, "url": 1, "content": 2}

# Country codes and old spellings that sites use for a language (only ever matched against the
# document's own language, so "se" is stripped from a Swedish page only).
_ALIASES = {
    "jp": "ja", "cn": "zh", "tw": "zh", "hk": "zh", "kr": "ko", "gr": "el", "ua": "uk", "cz": "cs",
    "dk": "da", "se": "sv", "br": "pt", "ir": "fa", "il": "he", "iw": "he", "in": "id", "ji": "yi",
    "vn": "vi", "us": "en", "gb": "en", "schinese": "zh", "tchinese": "zh", "chs": "zh", "cht": "zh",
    # ISO 639-2/B codes
    "ger": "de", "fre": "fr", "chi": "zh", "dut": "nl", "cze": "cs", "gre": "el", "per": "fa",
    "rum": "ro", "slo": "sk", "arm": "hy", "baq": "eu", "bur": "my", "geo": "ka", "ice": "is",
    "mac": "mk", "mao": "mi", "may": "ms", "alb": "sq", "tib": "bo", "wel": "cy",
}
_QUERY_NAMES = {"lang", "language", "hl", "locale", "lc", "l", "ln", "setlang", "uselang", "lng", "lan"}
_TAG = re.compile(r"^([a-z]{2,3}|[a-z]+)(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|\d{3}))?$")
_NAME_SPLIT = re.compile(r"([._-])")


@lru_cache(maxsize=1)
def _language_codes() -> dict[str, str]:
    """Spelling (lower case ASCII) → language code: ISO 639 codes known to ICU, their 3-letter forms,
    the aliases above, and each language's English and native names (`german`, `deutsch`)."""
    import icu

    codes: dict[str, str] = {}
    english = icu.Locale("en")
    for code in icu.Locale.getISOLanguages():
        codes[code] = code
    for code in [c for c in icu.Locale.getISOLanguages() if len(c) == 2]:
        locale = icu.Locale(code)
        try:
            codes.setdefault(locale.getISO3Language(), code)
        except icu.ICUError:
            pass
        for name in (locale.getDisplayLanguage(english), locale.getDisplayLanguage(locale)):
            folded = _ascii_fold(name)
            if folded.isalpha() and len(folded) > 3 and folded != code:
                codes.setdefault(folded, code)
    for alias, code in _ALIASES.items():
        codes[alias] = code
    return codes


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def tag_language(token: str) -> str | None:
    """The language a URL token names (`de`, `de-AT`, `pt_BR`, `zh-Hans`, `deu`, `deutsch`), else
    None. The result is an ISO 639-1 code where one exists (lid.176 labels are)."""
    m = _TAG.match(token.lower())
    if not m:
        return None
    codes = _language_codes()
    primary = codes.get(m.group(1))
    if primary is None:
        return None
    if len(m.group(1)) > 3 and (m.group(2) or m.group(3)):
        return None  # "english-us" is not a tag
    return primary


def _same_language(token: str, lang: str) -> bool:
    return bool(lang) and tag_language(token) == _base_lang(lang)


def _base_lang(lang: str) -> str:
    codes = _language_codes()
    return codes.get(lang, lang)


def url_key(url: str, lang: str) -> str | None:
    """`url` with every marker of language `lang` removed (and `www.` dropped, the query sorted):
    equal keys for different languages = one page in several languages. None if unparsable."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    labels = host.split(".")
    if labels and labels[0] == "www":
        labels = labels[1:]
    if len(labels) > 2 and _same_language(labels[0], lang):
        labels = labels[1:]
    segments = [s for s in parts.path.split("/")]
    kept = [s for s in segments[:-1] if not _same_language(s, lang)]
    name = segments[-1] if segments else ""
    if _same_language(name, lang):
        name = ""
    elif name:
        pieces = _NAME_SPLIT.split(name)  # ["ls", ".", "1", ".", "de", ".", "html"]
        words = pieces[0::2]
        for i in range(len(words) - 1, 0, -1):  # never the first word (the page's own name)
            last = i == len(words) - 1 and pieces[2 * i - 1] == "." and len(words) > 1
            if not last and _same_language(words[i], lang):
                del pieces[2 * i - 1:2 * i + 1]
                break
        name = "".join(pieces)
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not ((k.lower() in _QUERY_NAMES or len(v) <= 7) and _same_language(v, lang))
    )
    path = "/".join(kept + [name])
    return f"{'.'.join(labels)}{path}{'?' + urlencode(query) if query else ''}"


# ------------------------------------------------------------------------------ content evidence

_TOKEN = re.compile(r"[^\W_]+(?:[-_./:@][^\W_]+)*", re.UNICODE)
_HAS_DIGIT = re.compile(r"\d")


def evidence_tokens(text: str) -> Counter:
    """Tokens of a text that can survive translation unchanged: case-folded word tokens of ≥ 2
    characters (names, commands, borrowed words, code — their weight in a host comes from how rare
    they are there) and every number. A multiset."""
    tokens = Counter()
    for t in _TOKEN.findall(text):
        t = t.casefold()
        if len(t) >= 2 or _HAS_DIGIT.search(t):
            tokens[t] += 1
    return tokens


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DocFeatures:
    """What document alignment needs of a document (no text)."""

    id: str
    url: str
    lang: str
    url_key: str | None
    alternates: tuple[tuple[str, str], ...]  # (language, canonical url)
    tokens: tuple[tuple[str, int], ...]  # evidence tokens with counts, sorted
    paragraphs: int
    n_chars: int


def doc_features(doc_id: str, url: str, lang: str, text: str, alternates=()) -> DocFeatures:
    from transforms.urls import UrlError, canonical_url

    try:
        canonical = canonical_url(url)
    except UrlError:
        canonical = url
    alts = []
    for tag, alt_url in alternates or ():
        language = tag_language(tag) if tag else None
        if language:
            alts.append((language, alt_url))
    paragraphs = sum(1 for line in text.split("\n") if line.strip())
    return DocFeatures(doc_id, canonical, lang, url_key(canonical, lang), tuple(sorted(set(alts))),
                       tuple(sorted(evidence_tokens(text).items())), paragraphs, len(text))


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DocPair:
    """Two documents of one host judged translations of each other; a_lang < b_lang."""

    a_id: str
    b_id: str
    a_lang: str
    b_lang: str
    score: float
    method: str  # hreflang | url | content


def content_score(a: DocFeatures, b: DocFeatures, idf: dict[str, float], tokens=None) -> float:
    """Weighted Jaccard of the two documents' evidence tokens (weights: idf in the host, so menus
    and boilerplate count little), times the agreement of their paragraph counts. `tokens`: the
    documents' {token: count} restricted to tokens with a weight, if already at hand."""
    ta, tb = tokens if tokens is not None else (weighted_tokens(a, idf), weighted_tokens(b, idf))
    shared = union = 0.0
    for t in sorted(ta.keys() | tb.keys()):  # a fixed order: float sums must not depend on hashing
        w = idf[t]
        x, y = ta.get(t, 0), tb.get(t, 0)
        shared += w * min(x, y)
        union += w * max(x, y)
    jaccard = shared / union if union else 0.0
    pa, pb = max(a.paragraphs, 1), max(b.paragraphs, 1)
    profile = min(pa, pb) / max(pa, pb)
    return jaccard * (0.5 + 0.5 * profile)


def weighted_tokens(f: DocFeatures, idf: dict[str, float]) -> dict[str, int]:
    """A document's evidence tokens that can count (found in another language of the host)."""
    return {t: n for t, n in f.tokens if t in idf}


def host_idf(features: list[DocFeatures]) -> dict[str, float]:
    """log(N / df) of the evidence tokens found in documents of at least two languages of the host
    (a word of one language can never be shared by a translation: it would only dilute the score);
    0 for tokens in every document."""
    df = Counter(t for f in features for t, _ in f.tokens)
    languages = defaultdict(set)
    for f in features:
        for t, _ in f.tokens:
            languages[t].add(f.lang)
    n = len(features)
    return {t: math.log(n / d) for t, d in df.items() if len(languages[t]) > 1}


def candidate_pairs(features: list[DocFeatures], max_postings: int = 50, per_doc: int = 5):
    """(i, j, method) candidates among a host's documents of different languages: by alternates,
    by URL key, and by sharing a token rare in the host (in at most `max_postings` documents, and
    not in every one); the content candidates of a document are limited to its `per_doc`
    best-sharing partners per language."""
    by_url = {}
    for i, f in enumerate(features):
        by_url.setdefault(f.url, i)
    out: set[tuple[int, int, str]] = set()
    for i, f in enumerate(features):
        for language, alt in f.alternates:
            j = by_url.get(alt)
            if j is not None and j != i and features[j].lang != f.lang and features[j].lang == language:
                out.add((min(i, j), max(i, j), "hreflang"))
    groups = defaultdict(list)
    for i, f in enumerate(features):
        if f.url_key is not None:
            groups[f.url_key].append(i)
    for members in groups.values():
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if features[i].lang != features[j].lang:
                    out.add((min(i, j), max(i, j), "url"))
    # a document already linked (hreflang, url) to the other's language needs no content candidate
    linked = {(i, features[j].lang) for i, j, _ in out} | {(j, features[i].lang) for i, j, _ in out}
    limit = min(max_postings, len(features) - 1)
    postings = defaultdict(list)
    for i, f in enumerate(features):
        for t, _ in f.tokens:
            postings[t].append(i)
    shared: dict[int, Counter] = defaultdict(Counter)
    for docs in postings.values():
        if len(docs) > limit:
            continue
        for x, i in enumerate(docs):
            for j in docs[x + 1:]:
                if features[i].lang != features[j].lang and not (
                        (i, features[j].lang) in linked and (j, features[i].lang) in linked):
                    shared[i][j] += 1
                    shared[j][i] += 1
    for i, partners in shared.items():
        by_lang = defaultdict(list)
        for j, n in partners.items():
            by_lang[features[j].lang].append((-n, features[j].id, j))
        for ranked in by_lang.values():
            for _, _, j in sorted(ranked)[:per_doc]:
                out.add((min(i, j), max(i, j), "content"))
    return sorted(out)


def align_host(features: list[DocFeatures], min_content_score: float = 0.1,
               min_linked_score: float = 0.0, max_postings: int = 50,
               pairs: frozenset[str] = frozenset()) -> list[DocPair]:
    """The document pairs of one host (see the module docstring); deterministic for any input order.
    `pairs`: only these language pairs ("de-en", alphabetical), all if empty."""
    features = sorted(features, key=lambda f: f.id)
    idf = host_idf(features)
    weighted = [weighted_tokens(f, idf) for f in features]
    best: dict[tuple[int, int], tuple[int, str]] = {}
    for i, j, method in candidate_pairs(features, max_postings):
        rank = METHOD_RANK[method]
        if (i, j) not in best or rank < best[(i, j)][0]:
            best[(i, j)] = (rank, method)
    scored = []
    for (i, j), (rank, method) in best.items():
        if pairs and "-".join(sorted((features[i].lang, features[j].lang))) not in pairs:
            continue
        score = content_score(features[i], features[j], idf, (weighted[i], weighted[j]))
        floor = min_content_score if method == "content" else min_linked_score
        if score >= floor:
            scored.append((rank, -score, features[i].id, features[j].id, i, j, method, score))
    scored.sort()
    paired: set[tuple[str, str]] = set()  # (doc id, other language) already taken
    pairs = []
    for rank, _, _, _, i, j, method, score in scored:
        a, b = features[i], features[j]
        if (a.id, b.lang) in paired or (b.id, a.lang) in paired:
            continue
        paired.add((a.id, b.lang))
        paired.add((b.id, a.lang))
        if b.lang < a.lang:
            a, b = b, a
        pairs.append(DocPair(a.id, b.id, a.lang, b.lang, round(score, 6), method))
    return sorted(pairs, key=lambda p: (p.a_lang, p.b_lang, p.a_id, p.b_id))
