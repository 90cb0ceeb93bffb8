#!/usr/bin/env python3
"""Build a near-duplicate gold set from real manual pages, for measuring
document-level dedup (MinHash LSH and the like).

Usage (needs dpkg-deb and mandoc; about a minute on 2 cores)::

    .venv/bin/python benchmarks/neardup/make_gold.py [--work DIR] [--jobs N]

writes benchmarks/neardup/gold.jsonl.gz, benchmarks/neardup/LICENSES.md and
the unit-test subset tests/data/neardup-dev.jsonl.gz, and prints the count
tables of README.md.

Source text
    Debian manual-page packages in two releases, fetched from deb.debian.org
    at the versions pinned in PACKAGES (sha256-checked), unpacked with
    dpkg-deb -x and rendered with mandoc -Tutf8 -Owidth=1000 through the text
    path of sample/make_sample.py (overstrike removed, one paragraph per
    line, blank lines between blocks), after which lines of 10+ characters
    without a letter or digit (table rules) are dropped.  en de fr es pl ru:
    bookworm -> trixie; ja, zh_CN, zh_TW: bullseye -> trixie (manpages-ja is
    the same version in bookworm and trixie; zh_CN barely changed, zh_TW was
    re-converted from zh_CN with new vocabulary).  A zh page is used in one
    of zh_CN / zh_TW only.  Never used: the 50 page names of sample/ in any
    section (and their aliases), apt/dpkg pages, reserved packages.

Base pages, per locale in the order of sha1(seed|locale|page)
    Usable: a real page (no symlink or .so stub) in both releases whose old
    text has 1,000-30,000 characters; <= 20 % untranslated (characters in
    lines of 40+ characters and 5+ Latin words that occur verbatim in the
    English page of the same release, or have no character of the script
    (ru, ja, zh), or 20 %+ English function words (Latin-script languages));
    <= 25 % native boilerplate (lines of 30+ characters, 15+ for ja/zh,
    found in 3+ candidate pages of the locale); and sharing <= 10 % (such
    non-boilerplate lines) with every page already chosen in any language.
    Usable pages fill, in this order: variant bases (44; zh_CN and zh_TW
    22 each; at most a quarter with an identical new version; the new text
    must pass the untranslated check too), chain starts (6, or 3; 2,000+
    characters), shared-boilerplate pairs (5, or 3 and 2; 3,000+ characters,
    both pages in one split), then 20 donors, whose sentences, paragraphs
    and credits sections the edits insert (donors are not in the output).

Documents (F: see below) and labels (cluster = id of its first document)
    base                     old text of a variant base
    version:identical        new-release text == base           same cluster
    version:trixie           new-release text != base.  r = difflib
        SequenceMatcher(autojunk=False).ratio() over the lines of both texts
        after NFKC + casefold + keeping only letters and digits, dropping
        lines left empty.  cluster = base's if r >= 0.75, else its own;
        ambiguous = 0.60 <= r < 0.90 (the only ambiguous documents).
    edit:exact_copy                                            same cluster
    edit:replace_sentences:K:F   K = 1-3 sentences replaced by sentences of
        similar length from donor pages                        same cluster
    edit:boilerplate:P:S:F   block added as P = header | footer; S = licence
        (1-3 paragraphs of a licence text from the packages' copyright
        files) or credits (translation credits / colophon section of a donor
        page); F <= 0.20                                       same cluster
    edit:delete_paragraph:F  one body line deleted, F <= 0.10   same cluster
    edit:noise:F             case / punctuation / space changes to a share F
        of the tokens (CJK characters 1/3 as often), stray blank lines and
        trailing spaces                                        same cluster
    edit:heavy_replace:F     50-70 % of the paragraphs (body lines of 20+
        characters, 10+ CJK), then more body lines in random order until
        F >= 0.5 and over half of all lines are replaced by donor
        paragraphs (so r <= 0.5)
                                                               NEW cluster
    chain:A, chain:B:F, chain:C:F   B = A with ~10 % of its characters in
        paragraphs replaced by donor paragraphs of similar length, C = B with
        another ~10 % in other paragraphs                     one cluster
    unrelated_with_shared_boilerplate:P:F   two different pages of a locale
        both get the same 3-6 consecutive licence paragraphs at P,
        F <= 0.25                                              own clusters
    F (3 decimals): share of the base's characters replaced or deleted; for
    added blocks, the block's share of the new document; for noise, the
    share of tokens changed; chain:C is measured against B.

Other fields: page (section dir/name), locale, split ("dev" | "heldout" from
sha1 of the page name, so all languages and variants of a page share it),
source (package, version, file), ref (the document this one was made from,
or the partner of a shared-boilerplate pair), line_ratio (r against ref).
id = sha1("origin|locale|page")[:32].

Determinism: pinned packages, random.Random seeded per document with a
string, sorted iteration, gzip mtime 0: reruns are byte-identical (with
mandoc 1.14.6 of Debian 12).
"""

import argparse
import collections
import difflib
import fnmatch
import gzip
import hashlib
import io
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import time
import unicodedata
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "sample"))
import make_sample as ms  # noqa: E402  (index, .so resolution, text path)

SEED = "polycorp-neardup-v1"
MIRROR = "http://deb.debian.org/debian/"
SOURCE_PKG = {"manpages": "manpages", "manpages-dev": "manpages",
              "manpages-ja": "manpages-ja", "manpages-ja-dev": "manpages-ja",
              "manpages-zh": "manpages-zh"}  # everything else: manpages-l10n

# (release, package, version, sha256 of the .deb from the release's Packages)
PACKAGES = [
    ("bullseye", "manpages-ja", "0.5.0.0.20210215+dfsg-1",
     "7e19059fda67f19ad1758387b963c40a7afcccdf3460b82b99466b98710901ce"),
    ("bullseye", "manpages-ja-dev", "0.5.0.0.20210215+dfsg-1",
     "90274ed6770bd87c431fe3e17233ab3b835ed0a98686b8f0451c7605d6e05c0b"),
    ("bullseye", "manpages-zh", "1.6.3.4-1",
     "f9a0b356ea59d1bdf99e3839440cf20cbd7d7c88ccbf42c42e84c89f6298b1ab"),
    ("bookworm", "manpages", "6.03-2",
     "efa1ba4cd19ad7baeae959c9209a7eb74be2ebb858bcabb412597bfc9f588c91"),
    ("bookworm", "manpages-dev", "6.03-2",
     "96f55cb5e26231d5567c89b692bced63825a14a2d5bd18fdf16ea2ed44eb9838"),
    ("bookworm", "manpages-de", "4.18.1-1",
     "37d2e7ee51f22952aecec3af93647ff59194a3c74bb7a694560f49c7f7ab3978"),
    ("bookworm", "manpages-de-dev", "4.18.1-1",
     "cb3d7c10977dd3c811065d89e0d912196ec5e6f2551308edb0ba72e02da838d7"),
    ("bookworm", "manpages-es", "4.18.1-1",
     "d21e9f85e487f149ae45b5c525b2b1a70ae7fd38d4b05b47c8753042c66f4c2b"),
    ("bookworm", "manpages-es-dev", "4.18.1-1",
     "1c2e676050bc87ecd5b4fafa00e7365504aaaf5d64645ef9989e907e5612a322"),
    ("bookworm", "manpages-fr", "4.18.1-1",
     "ec29759cc0e4a44dc7719c1e32869d0060667049e584f09556f0d982b969ea33"),
    ("bookworm", "manpages-fr-dev", "4.18.1-1",
     "25f5a53208d92f0a69a89e349edfb3068e6e6e4e0673fe712dd0d3b0c5b1512d"),
    ("bookworm", "manpages-pl", "1:4.18.1-1",
     "31e518ea8331b5204d4fd0032037f96af1ba94a5afa4f0585dca1996b270cdf9"),
    ("bookworm", "manpages-pl-dev", "1:4.18.1-1",
     "5a365751f2d6ee2a67d03a26e44a380d59790c42bd1ca9aeb0c35264f62e80c7"),
    ("bookworm", "manpages-ru", "4.18.1-1",
     "5d5821dad5840652ba9c1c6b85bdc785c1fc52148a71c18fab6658c9659244c0"),
    ("bookworm", "manpages-ru-dev", "4.18.1-1",
     "7182289b9a0af78422e48412f149907b6d84d16c78544db97e48b6ab2562bb55"),
    ("trixie", "manpages", "6.9.1-1",
     "91b7df0b4bd4e1a3b8ba5b229abd844e03f4c82c45ccb8c964a035190c29a501"),
    ("trixie", "manpages-dev", "6.9.1-1",
     "9de42b48394935236a31385e4bae816911cd20dc3f20250531964aec44082f63"),
    ("trixie", "manpages-ja", "0.5.0.0.20221215+dfsg-1",
     "4d270e9a1e83be4de0c072a110892a17dc9caa4b501257324006ac28d82c5743"),
    ("trixie", "manpages-ja-dev", "0.5.0.0.20221215+dfsg-1",
     "eab2ad5f14a87b3911c48c90cef92f85d0e77ca5356923f9f9fbc38a86601d1e"),
    ("trixie", "manpages-de", "4.27.0-1",
     "82b0674a475ff39c7a366121f5823ff842300ecdeb596ad467787459cc539845"),
    ("trixie", "manpages-de-dev", "4.27.0-1",
     "53a8d3870b67b023423e95ab71636c57165b4d22a46ed3da29cfbf6384ac8766"),
    ("trixie", "manpages-es", "4.27.0-1",
     "feecf5e9105f612faeddff1df07459ee94da7e1ad9e51380dedf508487a17de5"),
    ("trixie", "manpages-es-dev", "4.27.0-1",
     "8e0c1dd60ee2bb1db5700fb2149a9519f3d9f5393b56b79189ebe97714a1df47"),
    ("trixie", "manpages-fr", "4.27.0-1",
     "20a563c41d9483796260870634bb2a07b271026b99b888db87ea0ae0a99a63e5"),
    ("trixie", "manpages-fr-dev", "4.27.0-1",
     "e7c8165ff8f1730411e31fbedd313e977022911ce51a181777aad45b8da1e54b"),
    ("trixie", "manpages-pl", "1:4.27.0-1",
     "a6bb9118f90d27c97517349b051722babcb73c9fa53b90e8806304a587d86498"),
    ("trixie", "manpages-pl-dev", "1:4.27.0-1",
     "1448d954cec692d81b808acd0d03429bfabb69473e9c539c94329c1c1e6c144e"),
    ("trixie", "manpages-ru", "4.27.0-1",
     "8e86695991e187a1e08332fd2fcfea5d25390439e8020171987db77f35b3f1b6"),
    ("trixie", "manpages-ru-dev", "4.27.0-1",
     "de1dc040770ab295affa30c517f4c5ef1c4d4725d481b26caf0509d925319ed0"),
    ("trixie", "manpages-zh", "1.6.4.3-1",
     "12ea83950d4d25c6fe56d9f9cb736a360d84efc2d2ed451cc20e708340c5807d"),
]
EN_PACKAGES = ["manpages", "manpages-dev"]

CYR, JA, ZH = r"[\u0400-\u04FF]", r"[\u3040-\u30FF\u4E00-\u9FFF]", r"[\u4E00-\u9FFF]"
# One row per man locale: output lang, locale dir, packages, old and new
# release, heading of the translation credits / colophon section, script,
# quota (variant bases, chain starts, shared-boilerplate pairs).
Src = collections.namedtuple(
    "Src", "lang locale packages old new credits script quota")
FULL = (44, 6, 5)
SOURCES = [
    Src("en", "en", EN_PACKAGES, "bookworm", "trixie", None, None, FULL),
    Src("de", "de", ["manpages-de", "manpages-de-dev"], "bookworm", "trixie",
        "ÜBERSETZUNG", None, FULL),
    Src("fr", "fr", ["manpages-fr", "manpages-fr-dev"], "bookworm", "trixie",
        "TRADUCTION", None, FULL),
    Src("es", "es", ["manpages-es", "manpages-es-dev"], "bookworm", "trixie",
        "TRADUCCIÓN", None, FULL),
    Src("pl", "pl", ["manpages-pl", "manpages-pl-dev"], "bookworm", "trixie",
        "TŁUMACZENIE", None, FULL),
    Src("ru", "ru", ["manpages-ru", "manpages-ru-dev"], "bookworm", "trixie",
        "ПЕРЕВОД", CYR, FULL),
    Src("ja", "ja", ["manpages-ja", "manpages-ja-dev"], "bullseye", "trixie",
        "この文書について", JA, FULL),
    # zh: a page is used in one of the two locales only (zh_TW is made
    # from zh_CN by character conversion).
    Src("zh", "zh_CN", ["manpages-zh"], "bullseye", "trixie", "[中文版维护人]",
        ZH, (22, 3, 3)),
    Src("zh", "zh_TW", ["manpages-zh"], "bullseye", "trixie", "[中文版維護人]",
        ZH, (22, 3, 2)),
]
LANG_ORDER = ["en", "de", "fr", "es", "pl", "ru", "ja", "zh"]
CJK_LANGS = {"ja", "zh"}

# Page names of sample/ (any section) and their aliases: never used here.
EXCLUDED_NAMES = set("""ls cp mv rm mkdir rmdir chmod chown cat ln df du touch
echo date sort head tail wc grep find tar gzip kill ps free passwd chsh ldd
intro group shells shadow hosts services issue motd null random hier ascii
utf-8 unicode uri man locale charsets useradd groupadd egrep fgrep zcat gunzip
url utf8""".split())

MIN_CHARS, MAX_CHARS = 1000, 30000
MAX_FOREIGN = 0.20          # untranslated share
MAX_COMMON = 0.25           # native boilerplate share
MAX_SHARED = 0.10           # shared with an already chosen page
N_DONORS = 20
EDIT_TYPES = ["exact_copy", "replace_sentences", "boilerplate",
              "delete_paragraph", "noise", "heavy_replace"]
NEAR, FAR, CUT = 0.90, 0.60, 0.75  # version-pair rule on the line ratio

OUT = os.path.join(HERE, "gold.jsonl.gz")
LICENSES_OUT = os.path.join(HERE, "LICENSES.md")
TEST_OUT = os.path.join(ROOT, "tests", "data", "neardup-dev.jsonl.gz")
TEST_MAX_BYTES = 290_000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------

def deb_path(pkg, ver):
    src = SOURCE_PKG.get(pkg, "manpages-l10n")
    return "pool/main/%s/%s/%s_%s_all.deb" % (src[0], src, pkg,
                                             ver.split(":")[-1])


def fetch_and_extract(work):
    """{(release, package): (version, sha256, unpacked dir)}"""
    os.makedirs(os.path.join(work, "debs"), exist_ok=True)
    out = {}
    for rel, pkg, ver, sha in PACKAGES:
        if ms.is_forbidden_package(pkg):
            sys.exit("refusing to use reserved package %s" % pkg)
        path = deb_path(pkg, ver)
        deb = os.path.join(work, "debs", os.path.basename(path))
        if not (os.path.exists(deb) and ms.sha256_file(deb) == sha):
            log("downloading", MIRROR + path)
            with urllib.request.urlopen(MIRROR + path, timeout=300) as r:
                data = r.read()
            if hashlib.sha256(data).hexdigest() != sha:
                sys.exit("sha256 mismatch for %s" % path)
            with open(deb + ".part", "wb") as f:
                f.write(data)
            os.replace(deb + ".part", deb)
        d = os.path.join(work, "root", os.path.basename(path)[:-4])
        if not os.path.exists(os.path.join(d, ".ok")):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            subprocess.run(["dpkg-deb", "-x", deb, d], check=True)
            open(os.path.join(d, ".ok"), "w").close()
        out[(rel, pkg)] = (ver, sha, d)
    return out


# --------------------------------------------------------------------------
# Rendering (text path of sample/make_sample.py)
# --------------------------------------------------------------------------

def render(task):
    path, mandir = task
    data = ms._MDOCDATE_RE.sub(b".Dd", ms.read_source(path))
    r = subprocess.run(["mandoc", "-Ios=Debian", "-Tutf8", "-Owidth=1000"],
                       input=data, capture_output=True, cwd=mandir,
                       env=dict(os.environ, LC_ALL="C.UTF-8"), timeout=120)
    text = ms.normalise_text(r.stdout.decode("utf-8", "replace"))
    lines = [l for l in text.split("\n")
             if not (len(l) >= 10 and not any(c.isalnum() for c in l))]
    return "\n".join(lines_squeezed(lines))


def lines_squeezed(lines):
    """Drop leading/trailing/double blank lines."""
    out = []
    for l in lines:
        if l or (out and out[-1]):
            out.append(l)
    while out and not out[-1]:
        out.pop()
    return out


class Release:
    """The man pages of one locale in one release."""

    def __init__(self, pkgs, rel, names, locale):
        self.rel, self.locale = rel, locale
        self.dirs = {p: pkgs[(rel, p)][2] for p in names}
        self.vers = {p: pkgs[(rel, p)][0] for p in names}
        self.index = ms.build_index(names, self.dirs)
        self.keys = {k for k in self.index if k[0] == locale
                     and ms.resolve(self.index, k) == k}

    def task(self, key):
        e = self.index[key]
        base = os.path.join(self.dirs[e.pkg], "usr", "share", "man")
        return (e.path, base if e.lang == "en" else os.path.join(base, e.lang))

    def source(self, key):
        e = self.index[key]
        return "%s %s %s" % (e.pkg, self.vers[e.pkg],
                             "/" + os.path.relpath(e.path, self.dirs[e.pkg]))

    def raw(self, key):
        return ms.read_source(self.index[key].path)


class Renderer:
    def __init__(self, jobs):
        self.cache, self.jobs = {}, jobs

    def batch(self, items):  # items: [(release, key)]
        todo = sorted({(r.rel, r.locale, k): r.task(k) for r, k in items
                       if (r.rel, r.locale, k) not in self.cache}.items())
        if len(todo) > 50 and self.jobs > 1:
            with multiprocessing.Pool(self.jobs) as pool:
                texts = pool.map(render, [t for _, t in todo], chunksize=16)
        else:
            texts = [render(t) for _, t in todo]
        for (ck, _), t in zip(todo, texts):
            self.cache[ck] = t

    def get(self, r, key):
        ck = (r.rel, r.locale, key)
        if ck not in self.cache:
            self.cache[ck] = render(r.task(key))
        return self.cache[ck]


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
SENT_END = re.compile(r"[.!?](?=\s)|[。！？]")
CJK_CHAR = r"\u3000-\u303F\u3040-\u30FF\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF"
TOKEN = re.compile(r"[%s]|[^\s%s]+" % (CJK_CHAR, CJK_CHAR))
FULL2HALF = dict(zip("，。：；（）！？「」、", ",.:;()!?\"\","))
HALF2FULL = {",": "，", ".": "。", ":": "：", ";": "；", "(": "（", ")": "）"}


def norm_lines(text):
    """Lines compared by the labelling rule: NFKC, case-folded, only letters
    and digits kept; lines left empty are dropped."""
    out = []
    for l in unicodedata.normalize("NFKC", text).casefold().split("\n"):
        l = "".join(c for c in l if c.isalnum())
        if l:
            out.append(l)
    return out


def line_ratio(a, b):
    return difflib.SequenceMatcher(None, norm_lines(a), norm_lines(b),
                                   autojunk=False).ratio()


def min_line(lang):
    return 15 if lang in CJK_LANGS else 30


def body(lines):
    """Indexes of non-empty lines other than mandoc's header and footer."""
    idx = [i for i, l in enumerate(lines) if l]
    return idx[1:-1]


EN_WORDS = set("""the and of is that with are this which from be by it when
will can was for if not should must has have been""".split())


def foreign_share(text, script, en_lines):
    """Share of characters in long lines (40+ characters, 5+ Latin words)
    that are still English: found verbatim in the English page, or without
    a character of the script (ru, ja, zh), or with 20 %+ English function
    words (Latin-script languages)."""
    bad = 0
    for l in text.split("\n"):
        words = LATIN_WORD.findall(l)
        if len(l) < 40 or len(words) < 5:
            continue
        if (en_lines is not None and l in en_lines) or (
                script and not re.search(script, l)) or (
                not script and sum(w.lower() in EN_WORDS for w in words)
                >= 0.2 * len(words)):
            bad += len(l)
    return bad / max(1, len(text))


def sentences(para, cjk):
    """(start, end) spans of the sentences of a paragraph."""
    spans, start = [], 0
    for m in SENT_END.finditer(para):
        spans.append((start, m.end()))
        start = m.end()
        while start < len(para) and para[start] == " ":
            start += 1
    if start < len(para):
        spans.append((start, len(para)))
    minlen = 10 if cjk else 20
    return [(s, e) for s, e in spans if e - s >= minlen
            and sum(c.isalpha() for c in para[s:e]) >= minlen // 2]


def doc_id(origin, locale, page):
    return hashlib.sha1(("%s|%s|%s" % (origin, locale, page)).encode()
                        ).hexdigest()[:32]


def split_of(page):
    name = page.split("/")[-1]
    h = hashlib.sha1(("%s|split|%s" % (SEED, name)).encode()).digest()
    return "dev" if h[0] % 2 == 0 else "heldout"


# --------------------------------------------------------------------------
# Licences (boilerplate source and LICENSES.md)
# --------------------------------------------------------------------------

def dep5(path):
    """(files stanzas [(patterns, licence, copyright)], {licence: paragraphs})"""
    text = open(path, encoding="utf-8").read()
    stanzas, texts = [], {}
    for block in re.split(r"\n[ \t]*\n", text):
        fields, cur = {}, None
        for line in block.split("\n"):
            m = re.match(r"^([A-Za-z-]+):\s?(.*)$", line)
            if m and not line.startswith(" "):
                cur = m.group(1)
                fields[cur] = [m.group(2)]
            elif cur:
                fields[cur].append(line)
        if "License" not in fields:
            continue
        lic = fields["License"][0].strip()
        if "Files" in fields:
            pats = " ".join(fields["Files"]).split()
            cr = " ".join(" ".join(fields.get("Copyright", [])).split())
            stanzas.append((pats, lic, cr))
        bodylines = fields["License"][1:]
        if bodylines and lic not in texts:
            ps, cur_p = [], []
            for l in bodylines:
                if l.strip() == ".":
                    ps.append(" ".join(cur_p))
                    cur_p = []
                else:
                    cur_p.append(l.strip())
            ps.append(" ".join(cur_p))
            ps = [" ".join(p.split()) for p in ps if p.strip()]
            if ps:
                texts[lic] = ps
    return stanzas, texts


def copyright_file(pkgs, rel, pkg):
    d = pkgs[(rel, pkg)][2]
    p = os.path.join(d, "usr", "share", "doc", pkg, "copyright")
    if os.path.islink(os.path.join(d, "usr", "share", "doc", pkg)):
        target = os.readlink(os.path.join(d, "usr", "share", "doc", pkg))
        p = os.path.join(pkgs[(rel, target)][2], "usr", "share", "doc",
                         target, "copyright")
    return p


def page_licence(stanzas, locale, page):
    secdir, name = page.split("/")
    cands = ["%s/%s" % (secdir, name), "po/%s/%s/%s.po" % (locale, secdir, name),
             "src/%s/%s" % (secdir, name), "man/%s/%s" % (secdir, name)]
    lic = None
    for pats, l, _ in stanzas:
        if any(fnmatch.fnmatchcase(c, p) for p in pats for c in cands):
            lic = l
    return lic


# --------------------------------------------------------------------------
# Edits.  All take a list of lines and return (lines, fraction).
# --------------------------------------------------------------------------

class Donors:
    """Sentences, paragraphs and credits sections of a language's donors."""

    def __init__(self, src, texts, common):
        cjk = src.lang in CJK_LANGS
        self.pages = []
        self.sents, self.credits = [], []
        heading = src.credits
        for t in texts:
            lines = t.split("\n")
            ps = [lines[i] for i in body(lines)
                  if len(lines[i]) >= 20 and lines[i] not in common]
            self.pages.append(ps)
            for p in ps:
                self.sents += [p[s:e] for s, e in sentences(p, cjk)]
            if heading and heading in lines:
                i = lines.index(heading)
                sec = lines_squeezed(lines[i:body(lines)[-1] + 1])
                if 2 <= len(sec) and sum(map(len, sec)) <= 1500:
                    self.credits.append(sec)


def edit_replace_sentences(lines, rng, donors, cjk):
    text_len = len("\n".join(lines))
    spans = [(i, s, e) for i in body(lines)
             for s, e in sentences(lines[i], cjk)]
    if not spans:
        return None, 0, 0
    k = min(rng.randint(1, 3), len(spans))
    chosen = sorted(rng.sample(spans, k), reverse=True)
    out, changed = list(lines), 0
    for i, s, e in chosen:  # right to left keeps the spans valid
        near = [x for x in donors.sents if 0.5 <= len(x) / (e - s) <= 2]
        new = rng.choice(near or donors.sents)
        changed += e - s
        out[i] = out[i][:s] + new + out[i][e:]
    return out, changed / text_len, k


def licence_block(rng, licences, lo, hi, max_chars):
    """lo..hi consecutive paragraphs (60+ characters each) of one licence,
    <= max_chars.  licences: {(source, name): paragraphs}; the choice is
    counted in licences["used"]."""
    texts = {k: v for k, v in licences.items() if k != "used"}
    opts = [(key, s, n) for key in sorted(texts)
            for n in range(lo, hi + 1)
            for s in range(len(texts[key]) - n + 1)
            if sum(map(len, texts[key][s:s + n])) + n <= max_chars
            and all(len(p) >= 60 for p in texts[key][s:s + n])]
    if not opts:
        return None
    key, s, n = rng.choice(opts)
    licences["used"][key] += 1
    return texts[key][s:s + n]


def add_block(lines, block, pos):
    return block + [""] + lines if pos == "header" else lines + [""] + block


def edit_boilerplate(lines, rng, donors, licences):
    text_len = len("\n".join(lines))
    pos = rng.choice(["header", "footer"])
    cap = int(0.2 * text_len / 0.8)  # block <= 20 % of the result
    block, source = None, "licence"
    if donors.credits and rng.random() < 0.5:
        fits = [c for c in donors.credits if len("\n".join(c)) <= cap]
        if fits:
            block, source = rng.choice(fits), "credits"
    if block is None:
        block = licence_block(rng, licences, 1, 3, cap)
    if block is None:
        return None, 0, pos, source
    out = add_block(lines, block, pos)
    return out, len("\n".join(block)) / len("\n".join(out)), pos, source


def edit_delete_paragraph(lines, rng):
    n = len("\n".join(lines))
    b = [i for i in body(lines) if len(lines[i]) <= 0.10 * n]
    if not b:
        return None, 0
    good = [i for i in b if len(lines[i]) >= 0.02 * n]
    i = rng.choice(good) if good else max(b, key=lambda j: (len(lines[j]), -j))
    out = lines[:i] + lines[i + 1:]
    return lines_squeezed(out), len(lines[i]) / n


def mutate(tok, rng):
    if tok in FULL2HALF:
        return FULL2HALF[tok]
    if re.fullmatch("[%s]" % CJK_CHAR, tok):
        return tok + rng.choice([" ", " ", "\u3000"])  # CJK: stray spaces
    if tok[-1] in ",.;:" and rng.random() < 0.5:
        return tok[:-1] + rng.choice(["", "", HALF2FULL.get(tok[-1], "")])
    op = rng.choice(["lower", "upper", "title", "space", "comma"])
    if op == "lower":
        new = tok.lower()
    elif op == "upper":
        new = tok.upper()
    elif op == "title":
        new = tok[:1].upper() + tok[1:].lower()
    elif op == "comma":
        new = tok + ","
    else:
        new = tok + " "
    return new if new != tok else tok + " "


def edit_noise(lines, rng):
    p = rng.uniform(0.02, 0.06)
    out, n, changed = [], 0, 0
    for line in lines:
        parts, last = [], 0
        for m in TOKEN.finditer(line):
            parts.append(line[last:m.start()])
            tok = m.group(0)
            n += 1
            # a CJK character is about a third of a word
            if rng.random() < (p / 3 if len(tok) == 1 and re.match(
                    "[%s]" % CJK_CHAR, tok) else p):
                tok = mutate(tok, rng)
                changed += 1
            parts.append(tok)
            last = m.end()
        parts.append(line[last:])
        new = "".join(parts)
        if line and rng.random() < p:
            new += " "
        out.append(new)
        if line and rng.random() < p / 2:
            out.append("")
    return out, changed / max(1, n)


def replace_paragraphs(lines, rng, pool, positions):
    out = list(lines)
    for i in positions:
        out[i] = pool.pop(rng.randrange(len(pool)))
    return out


def edit_heavy(lines, rng, donors, cjk):
    """Replace 50-70 % of the paragraphs (body lines of 20+ characters, 10+
    for CJK), then more body lines (random order) until >= 50 % of the
    characters and more than half of all non-empty lines are replaced."""
    n = len("\n".join(lines))
    b = body(lines)
    ps = [i for i in b if len(lines[i]) >= (10 if cjk else 20)]
    pages = list(donors.pages)
    rng.shuffle(pages)
    pool = []
    while pages and len(pool) < len(b):  # paragraphs of 3+ donor pages
        pool += pages.pop()
    pos = set(rng.sample(ps, math.ceil(rng.uniform(0.5, 0.7) * len(ps))))
    rest = [i for i in b if i not in pos]
    rng.shuffle(rest)
    while rest and (sum(len(lines[i]) for i in pos) < 0.5 * n
                    or len(pos) <= 0.5 * (len(b) + 2)):
        pos.add(rest.pop(0))
    if len(pool) < len(pos):
        return None, 0
    out = replace_paragraphs(lines, rng, pool, sorted(pos))
    return out, sum(len(lines[i]) for i in pos) / n


def edit_chain_step(lines, rng, donors, avoid):
    """Replace paragraphs (not in avoid) until >= 10 % of the characters."""
    n = len("\n".join(lines))
    cand = [i for i in body(lines) if i not in avoid
            and 20 <= len(lines[i]) <= 0.12 * n]
    rng.shuffle(cand)
    pool = [p for ps in donors.pages for p in ps]
    pos, done = [], 0
    for i in cand:
        if done >= 0.10 * n:
            break
        pos.append(i)
        done += len(lines[i])
    if done < 0.08 * n:
        return None, 0, []
    out = list(lines)
    for i in pos:  # a donor paragraph of similar length
        near = [p for p in pool if 0.5 <= len(p) / len(lines[i]) <= 2]
        out[i] = rng.choice(near or pool)
    return out, done / n, pos


# --------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------

def candidate_order(locale, keys):
    return sorted(keys, key=lambda k: hashlib.sha1(
        ("%s|%s|%s/%s" % (SEED, locale, k[1], k[2])).encode()).hexdigest())


def select(src, old, new, en_old, en_new, rnd, shared_index, base_len,
           taken):
    """Returns (roles {key: role}, bp pairs, donors [key], texts, common
    lines, stats).  taken: (lang, page) already used by another locale."""
    lang, script = src.lang, src.script
    n_variant, n_chain, n_pairs = src.quota
    max_identical = n_variant // 4
    keys = [k for k in old.keys & new.keys
            if k[2].rsplit(".", 1)[0] not in EXCLUDED_NAMES
            and not ms.FORBIDDEN_PAGE_RE.match(k[2])
            and (lang, k[1], k[2]) not in taken]
    keys = candidate_order(src.locale, keys)
    todo = [(old, k) for k in keys]
    if en_old:
        todo += [(en_old, ("en",) + k[1:]) for k in keys
                 if ("en",) + k[1:] in en_old.keys]
    rnd.batch(todo)
    texts = {k: rnd.get(old, k) for k in keys}
    ml = min_line(lang)
    counts = collections.Counter(l for t in texts.values()
                                 for l in set(t.split("\n")) if len(l) >= ml)
    common = {l for l, c in counts.items() if c >= 3}

    def en_lines(r, k):
        if r is None:
            return None
        ek = ("en",) + k[1:]
        return set(rnd.get(r, ek).split("\n")) if ek in r.keys else None

    def usable_text(t, r, k):
        return lang == "en" or foreign_share(t, script, en_lines(r, k)) \
            <= MAX_FOREIGN

    roles, pairs, waiting, donors = {}, [], {}, []
    n_ident = 0
    stats = collections.Counter()
    for k in keys:
        t = texts[k]
        if not MIN_CHARS <= len(t) <= MAX_CHARS:
            stats["length"] += 1
            continue
        if not usable_text(t, en_old, k):
            stats["untranslated"] += 1
            continue
        full = (sum(r == "variant" for r in roles.values()) >= n_variant
                and sum(r == "chain" for r in roles.values()) >= n_chain
                and len(pairs) >= n_pairs)
        if full:
            if len(donors) < N_DONORS:
                donors.append(k)
                continue
            break
        lines = t.split("\n")
        if sum(len(l) for l in lines if l in common and len(l) >= ml) \
                > MAX_COMMON * len(t):
            stats["boilerplate"] += 1
            continue
        distinct = {l for l in lines if len(l) >= ml and l not in common}
        shared = collections.Counter()
        for l in distinct:
            for other in shared_index.get(l, ()):
                shared[other] += len(l)
        if any(v > MAX_SHARED * min(len(t), base_len[o])
               for o, v in shared.items()):
            stats["overlap"] += 1
            continue
        role = None
        if sum(r == "variant" for r in roles.values()) < n_variant:
            nt = rnd.get(new, k)
            ident = old.raw(k) == new.raw(k) or nt == t
            if len(nt) <= 1.5 * MAX_CHARS and usable_text(nt, en_new, k) \
                    and not (ident and n_ident >= max_identical):
                role = "variant"
                n_ident += ident
        if role is None and len(t) >= 2000 and \
                sum(r == "chain" for r in roles.values()) < n_chain:
            role = "chain"
        if role is None and len(t) >= 3000 and len(pairs) < n_pairs:
            sp = split_of(k[1] + "/" + k[2])
            if sp in waiting:
                pairs.append((waiting.pop(sp), k))
                roles[pairs[-1][0]] = roles[k] = "bp"
            else:
                waiting[sp] = k
            role = "bp-wait"
        if role is None:
            if len(donors) < N_DONORS:
                donors.append(k)
            continue
        if role != "bp-wait":
            roles[k] = role
        uid = (src.locale, k)
        base_len[uid] = len(t)
        for l in distinct:
            shared_index.setdefault(l, []).append(uid)
    for k in waiting.values():
        if len(donors) < N_DONORS:
            donors.append(k)
    stats["candidates"] = len(keys)
    return roles, pairs, donors, texts, common, stats


# --------------------------------------------------------------------------
# Building the documents
# --------------------------------------------------------------------------

def build(pkgs, jobs):
    rnd = Renderer(jobs)
    licences = {"used": collections.Counter()}
    for rel, pkg in [("bookworm", "manpages"), ("bookworm", "manpages-de"),
                     ("trixie", "manpages-zh")]:
        for name, ps in dep5(copyright_file(pkgs, rel, pkg))[1].items():
            licences[("%s %s" % (pkg, pkgs[(rel, pkg)][0]), name)] = ps
    docs, used, shared_index, base_len = [], [], {}, {}
    summary = {}
    releases = {}

    def release(rel, names, locale):
        k = (rel, tuple(names), locale)
        if k not in releases:
            releases[k] = Release(pkgs, rel, names, locale)
        return releases[k]
    taken = set()
    for src in SOURCES:
        old = release(src.old, src.packages, src.locale)
        new = release(src.new, src.packages, src.locale)
        en_old = en_new = None
        if src.lang != "en" and src.old == "bookworm":
            en_old = release(src.old, EN_PACKAGES, "en")
            en_new = release(src.new, EN_PACKAGES, "en")
        roles, pairs, donor_keys, texts, common, stats = select(
            src, old, new, en_old, en_new, rnd, shared_index, base_len, taken)
        taken |= {(src.lang, k[1], k[2]) for k in list(roles) + donor_keys}
        summary[src.locale] = dict(stats, **collections.Counter(roles.values()))
        log("%s: %s" % (src.locale, dict(summary[src.locale])))
        donors = Donors(src, [texts[k] for k in donor_keys], common)
        ctx = dict(lang=src.lang, locale=src.locale, old=old, new=new,
                   texts=texts, rnd=rnd, donors=donors, licences=licences,
                   used=used)
        variants = sorted(k for k, r in roles.items() if r == "variant")
        for j, k in enumerate(variants):
            t1 = EDIT_TYPES[j % 6]
            t2 = EDIT_TYPES[(j + 1 + (j // 6) % 5) % 6]
            docs += variant_docs(ctx, k, [t1, t2])
        for k in sorted(k for k, r in roles.items() if r == "chain"):
            docs += chain_docs(ctx, k)
        for a, b in sorted(pairs):
            docs += bp_docs(ctx, a, b)
    return docs, used, licences, summary


def mk(ctx, key, origin, text, source, ref=None, cluster=None,
       ambiguous=False, ratio=None):
    page = "%s/%s" % (key[1], key[2])
    i = doc_id(origin, ctx["locale"], page)
    return collections.OrderedDict([
        ("id", i), ("lang", ctx["lang"]), ("text", text),
        ("cluster", cluster or i), ("origin", origin),
        ("split", split_of(page)), ("ambiguous", ambiguous), ("page", page),
        ("locale", ctx["locale"]), ("source", source),
        ("ref", ref["id"] if ref else None),
        ("line_ratio", None if ratio is None and ref is None
         else round(ratio if ratio is not None
                    else line_ratio(ref["text"], text), 4)),
    ])


def rng_for(ctx, key, what):
    return random.Random("%s|%s|%s/%s|%s" % (SEED, ctx["locale"], key[1],
                                             key[2], what))


def variant_docs(ctx, key, edits):
    old, new, donors = ctx["old"], ctx["new"], ctx["donors"]
    text = ctx["texts"][key]
    ctx["used"].append((old, key))
    base = mk(ctx, key, "base", text, old.source(key))
    out = [base]
    ntext = ctx["rnd"].get(new, key)
    ctx["used"].append((new, key))
    if ntext == text:
        out.append(mk(ctx, key, "version:identical", ntext, new.source(key),
                      ref=base, cluster=base["id"]))
    else:
        r = line_ratio(text, ntext)
        d = mk(ctx, key, "version:" + new.rel, ntext, new.source(key),
               ref=base, ratio=r, ambiguous=FAR <= r < NEAR)
        if r >= CUT:
            d["cluster"] = base["id"]
        out.append(d)
    lines = text.split("\n")
    cjk = ctx["lang"] in CJK_LANGS
    for e in edits:
        rng = rng_for(ctx, key, e)
        same = True
        if e == "exact_copy":
            new_lines, origin = lines, "edit:exact_copy"
        elif e == "replace_sentences":
            new_lines, f, k = edit_replace_sentences(lines, rng, donors, cjk)
            origin = "edit:replace_sentences:%d:%.3f" % (k, f)
        elif e == "boilerplate":
            new_lines, f, pos, what = edit_boilerplate(lines, rng, donors,
                                                       ctx["licences"])
            origin = "edit:boilerplate:%s:%s:%.3f" % (pos, what, f)
        elif e == "delete_paragraph":
            new_lines, f = edit_delete_paragraph(lines, rng)
            origin = "edit:delete_paragraph:%.3f" % f
        elif e == "noise":
            new_lines, f = edit_noise(lines, rng)
            origin = "edit:noise:%.3f" % f
        else:
            new_lines, f = edit_heavy(lines, rng, donors, cjk)
            origin = "edit:heavy_replace:%.3f" % f
            same = False
        if new_lines is None:
            log("  skipped %s on %s/%s" % (e, ctx["locale"], key[2]))
            continue
        d = mk(ctx, key, origin, "\n".join(new_lines), old.source(key),
               ref=base, cluster=base["id"] if same else None)
        if not same:
            assert d["line_ratio"] < FAR, (key, d["line_ratio"])
        out.append(d)
    return out


def chain_docs(ctx, key):
    old = ctx["old"]
    text = ctx["texts"][key]
    ctx["used"].append((old, key))
    a = mk(ctx, key, "chain:A", text, old.source(key))
    rng = rng_for(ctx, key, "chain")
    lb, fb, pos_b = edit_chain_step(text.split("\n"), rng, ctx["donors"], ())
    if lb is None:
        return [a]
    b = mk(ctx, key, "chain:B:%.3f" % fb, "\n".join(lb), old.source(key),
           ref=a, cluster=a["id"])
    lc, fc, _ = edit_chain_step(lb, rng, ctx["donors"], set(pos_b))
    if lc is None:
        return [a, b]
    c = mk(ctx, key, "chain:C:%.3f" % fc, "\n".join(lc), old.source(key),
           ref=b, cluster=a["id"])
    return [a, b, c]


def bp_docs(ctx, ka, kb):
    old = ctx["old"]
    ta, tb = ctx["texts"][ka], ctx["texts"][kb]
    rng = rng_for(ctx, ka, "bp|" + kb[2])
    cap = min(len(ta), len(tb)) // 3  # block <= 25 % of each result
    block = licence_block(rng, ctx["licences"], 3, 6, cap)
    assert block, (ka, kb)
    pos = rng.choice(["header", "footer"])
    out = []
    for k, t in ((ka, ta), (kb, tb)):
        ctx["used"].append((old, k))
        nt = "\n".join(add_block(t.split("\n"), block, pos))
        f = len("\n".join(block)) / len(nt)
        out.append(mk(ctx, k, "unrelated_with_shared_boilerplate:%s:%.3f"
                      % (pos, f), nt, old.source(k)))
    out[0]["ref"], out[1]["ref"] = out[1]["id"], out[0]["id"]
    r = round(line_ratio(out[0]["text"], out[1]["text"]), 4)
    out[0]["line_ratio"] = out[1]["line_ratio"] = r
    return out


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def write_jsonl_gz(path, docs):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="",
                       compresslevel=9) as f:
        for d in docs:
            f.write((json.dumps(d, ensure_ascii=False) + "\n").encode())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    os.replace(path + ".tmp", path)
    return len(buf.getvalue())


def kind(d):
    o = d["origin"].split(":")
    k = ":".join(o[:2]) if o[0] in ("edit", "version") else o[0]
    if o[0] == "version" and o[1] != "identical":
        k += ":ambiguous" if d["ambiguous"] else (
            ":same" if d["cluster"] != d["id"] else ":new")
    return k


def test_subset(docs):
    """Whole groups (a base page and everything made from it) of the dev
    split: per language first the smallest groups that add an origin kind
    not yet covered, then more small groups while the file stays small."""
    groups = collections.OrderedDict()
    for d in docs:
        if d["split"] == "dev":
            g = (d["lang"], d["page"]) if not d["origin"].startswith(
                "unrelated") else (d["lang"], "bp", min(d["id"], d["ref"]))
            groups.setdefault(g, []).append(d)
    order = sorted(groups, key=lambda g: (sum(len(d["text"]) for d in
                                              groups[g]), g))
    chosen, covered = [], set()
    for g in order:
        ks = {(g[0], kind(d)) for d in groups[g]}
        if ks - covered and sum(len(d["text"]) for d in groups[g]) < 40000:
            chosen.append(g)
            covered |= ks

    def size(gs):
        return len(gzip.compress("".join(json.dumps(d, ensure_ascii=False)
                                         + "\n" for g in gs
                                         for d in groups[g]).encode(), 9,
                                 mtime=0))
    for g in order:
        if g not in chosen and size(chosen + [g]) <= TEST_MAX_BYTES:
            chosen.append(g)
    pos = {id(d): i for i, d in enumerate(docs)}
    return sorted((d for g in chosen for d in groups[g]),
                  key=lambda d: pos[id(d)])


def write_licenses(pkgs, used, licences, path):
    per_pkg = collections.OrderedDict()
    for r, key in used:
        e = r.index[key]
        per_pkg.setdefault((r.rel, e.pkg), []).append(
            (r.locale, "%s/%s" % (key[1], key[2])))
    lines = [
        "# Licences of the near-duplicate gold set",
        "",
        "`gold.jsonl.gz` (and its subset `tests/data/neardup-dev.jsonl.gz`) "
        "contain the text of manual pages from the Debian packages below, "
        "rendered with `mandoc -Tutf8`.  Documents whose `origin` starts "
        "with `edit:`, `chain:` or `unrelated_with_shared_boilerplate` were "
        "changed on purpose (see README.md): sentences and paragraphs from "
        "other pages of the same packages were put in, paragraphs deleted, "
        "noise added, or licence paragraphs (quoted from the packages' "
        "`copyright` files) added as boilerplate.",
        "",
        "Licences are as stated in each package's "
        "`/usr/share/doc/<package>/copyright` (for `manpages-dev`, the "
        "`manpages` one).  The per-page licence is the `License` of the last "
        "`Files` stanza that matches the page (DEP-5 rule; translations are "
        "matched as `po/<lang>/<section>/<page>.po`).",
        "",
        "| Release | Package | Version | sha256 of the .deb | Pages used | "
        "Licence of the pages used (pages) |",
        "|---|---|---|---|---|---|",
    ]
    notes = {}
    for (rel, pkg), pages in per_pkg.items():
        ver, sha, _ = pkgs[(rel, pkg)]
        cf = copyright_file(pkgs, rel, pkg)
        text = open(cf, encoding="utf-8").read()
        if text.startswith("Format:"):
            stanzas = dep5(cf)[0]
            c = collections.Counter(page_licence(stanzas, loc, p) or "?"
                                    for loc, p in sorted(set(pages)))
            lic = ", ".join("%s (%d)" % kv for kv in sorted(
                c.items(), key=lambda kv: (-kv[1], kv[0])))
            star = [s for s in stanzas if s[0] == ["*"]]
            if star:
                base = pkg.replace("-dev", "")
                notes[(base, rel)] = (
                    "`%s` %s (%s): Copyright %s; License %s"
                    % (base, pkgs[(rel, base)][0] if (rel, base) in pkgs
                       else ver, rel, star[0][2], star[0][1]))
        else:
            m = re.search(r"These man pages .*?DFSG free\.", text, re.S)
            lic = "same licence as each original page: \"%s\"" % (
                " ".join(m.group(0).split()) if m else "see copyright file")
        lines.append("| %s | %s | %s | `%s` | %d | %s |" % (
            rel, pkg, ver, sha, len(set(pages)), lic))
    lines += ["", "## Copyright summary (`Files: *`)", ""]
    lines += ["* %s" % v for _, v in sorted(notes.items())]
    lines += ["", "## Licence texts used as boilerplate", "",
              "Paragraphs quoted verbatim (one paragraph per line) from the "
              "`License:` texts of these copyright files (times used):", ""]
    lines += ["* `%s` of `%s` (%d)" % (name, src, n) for (src, name), n in
              sorted(licences["used"].items())]
    lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/polycorp-neardup-work")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    t0 = time.time()
    ms.ensure_mandoc()
    pkgs = fetch_and_extract(a.work)
    docs, used, licences, summary = build(pkgs, a.jobs)
    seq = {id(d): i for i, d in enumerate(docs)}
    docs.sort(key=lambda d: (LANG_ORDER.index(d["lang"]), d["page"],
                             seq[id(d)]))
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    by_id = {d["id"]: d for d in docs}
    assert all(d["cluster"] in by_id for d in docs)
    same_text = {}
    for d in docs:  # equal texts must share a cluster
        assert same_text.setdefault(d["text"], d["cluster"]) == d["cluster"]
    size = write_jsonl_gz(OUT, docs)
    sub = test_subset(docs)
    tsize = write_jsonl_gz(TEST_OUT, sub)
    write_licenses(pkgs, used, licences, LICENSES_OUT)
    log("wrote %s: %d documents, %d clusters, %d bytes" % (
        OUT, len(docs), len({d["cluster"] for d in docs}), size))
    log("wrote %s: %d documents, %d bytes" % (TEST_OUT, len(sub), tsize))
    print_stats(docs, sub)
    log("sha256 %s %s" % (ms.sha256_file(OUT), os.path.basename(OUT)))
    log("sha256 %s %s" % (ms.sha256_file(TEST_OUT), os.path.basename(TEST_OUT)))
    log("%.0fs" % (time.time() - t0))


def print_stats(docs, sub):
    """Markdown tables for README.md (stdout)."""
    kinds = sorted({kind(d) for d in docs})
    langs = [l for l in LANG_ORDER if any(d["lang"] == l for d in docs)]
    for title, ds in (("gold.jsonl.gz", docs), ("neardup-dev.jsonl.gz", sub)):
        print("\n%s: %d documents, %d clusters, %d ambiguous\n" % (
            title, len(ds), len({d["cluster"] for d in ds}),
            sum(d["ambiguous"] for d in ds)))
        print("| kind | " + " | ".join(langs) + " | dev | heldout | all |")
        print("|---" * (len(langs) + 4) + "|")
        rows = kinds + ["documents", "clusters"]
        for k in rows:
            def n(f):
                if k == "clusters":
                    return len({d["cluster"] for d in ds if f(d)})
                return sum(1 for d in ds if f(d) and (k == "documents"
                                                      or kind(d) == k))
            cells = [n(lambda d, l=l: d["lang"] == l) for l in langs]
            cells += [n(lambda d, s=s: d["split"] == s)
                      for s in ("dev", "heldout")]
            cells.append(n(lambda d: True))
            print("| %s | %s |" % (k, " | ".join(map(str, cells))))


if __name__ == "__main__":
    main()
