"""Sentence segmentation on real multilingual text: which library should polycorp use (issue 5)?

Run with the venv that `bash benchmarks/setup_sentences.sh` makes:

    benchmarks/.venv-sent/bin/python benchmarks/sentence_split.py

Gold. Real translations: the Debian packages of coreutils, tar, grep, wget, gettext (+ gettext-base)
and bash ship GNU gettext catalogues (/usr/share/locale/<lang>/LC_MESSAGES/*.mo) whose msgstr
entries are text written by translators; English is the msgids. Those have no Hindi or Arabic and
little Thai, so for hi, ar and th only the catalogues of some GNOME and KDE packages are read too
(EXTRA_PACKAGES; the other languages' gold does not change). The script fetches them with
`apt-get download` and unpacks them with `dpkg -x` into benchmarks/work/sentences/ (git-ignored),
reads them with Python's gettext.GNUTranslations, and keeps per language
  set A: the entries that are one sentence (see `one_sentence`), and
  set B: the lines of multi-line entries (help texts) that are one sentence and start one
         (see `line_sentences`).
It then joins k consecutive kept sentences of a set (k drawn from 2..6 with a fixed seed per
language and set) into a paragraph, with one space (none for zh/ja), and scores whether a
segmenter splits exactly at the joins: boundary precision / recall / F1 per language and the share
of paragraphs segmented perfectly. By construction no gold sentence has a terminal mark followed by
whitespace inside it, except after a listed abbreviation (rare here): the gold measures splits at
non-boundary dots (file names, "~/.../", "Inc.", URLs) and missed splits, and a naive "split after
. ! ? + space" rule is close to perfect on it. Abbreviations are measured apart ("probes"): real
catalogue lines with a listed abbreviation followed by whitespace, where a split is wrong. Boundaries are compared as counts of non-whitespace characters
from the start of the paragraph, so a segmenter may trim or normalise whitespace (blingfire does)
but must not lose or change any other character (checked, counted as `altered`).

Thai has no sentence mark: a Thai sentence is kept when its English msgid is one sentence (see
`one_sentence`), and it may contain spaces, as Thai clauses are separated by one. Rules that split
Thai at spaces (TH_RULES) are scored on that gold and on the real multi-sentence Thai entries
(`thai_entries`); Thai is scored but left out of the micro average.

Also: sentences per CPU second (time.process_time, one process, min of 3 passes over the same
gold), the behaviour on text with no final mark and on newlines, the language code each library
needs and what it does with one it does not know, import cost, install size, licence, the date of
the released artefact, and whether anything touches the network (the socket module is disarmed
before any library is imported; every attempt is recorded).

Writes benchmarks/results/sentence_split.json and prints a table.
"""

from __future__ import annotations

import gettext
import glob
import json
import os
import random
import re
import socket
import subprocess
import sys
import tarfile
import time
import unicodedata
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import code_version, machine_busy_s  # noqa: E402

WORK = os.path.join(HERE, "work", "sentences")
RESULT = os.path.join(HERE, "results", "sentence_split.json")

# ----------------------------------------------------------------------------------------------
# No network: every attempt is recorded, and fails.
NETWORK_ATTEMPTS: list[str] = []


def _no_network(*args, **kwargs):
    NETWORK_ATTEMPTS.append(repr(args)[:200])
    raise OSError("sentence_split: network use is disabled")


socket.socket.connect = _no_network  # type: ignore[method-assign]
socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
socket.getaddrinfo = _no_network  # type: ignore[assignment]
socket.create_connection = _no_network  # type: ignore[assignment]

# ----------------------------------------------------------------------------------------------
# Gold

PACKAGES = ["coreutils", "tar", "grep", "wget", "gettext", "gettext-base", "bash"]
# hi and ar have no catalogue in those packages and th too few sentences, so their gold also comes
# from GNOME's and KDE's catalogues; these are read for EXTRA_LOCALES only, so that every other
# language's gold stays exactly as it was.
EXTRA_PACKAGES = [
    "libglib2.0-data", "libgtk-3-common", "nautilus-data", "gnome-control-center-data", "gedit-common",
    "dolphin", "okular", "plasma-desktop-data", "systemsettings", "libkf5xmlgui-data",
    "libkf5kcmutils-data", "libkf5parts-data", "libkf5service-data",
]
EXTRA_LOCALES = ["hi", "ar", "th"]
# Licence of the catalogues, from each package's debian/copyright ("Files: *", or "Files: po/*"
# where there is one; the KDE files list only some other languages' .po apart).
LICENCES = {
    "coreutils": "GPL-3+", "tar": "GPL-3+", "grep": "GPL-3+", "wget": "GPL-3+ (with OpenSSL exception)",
    "gettext": "GPL-3+", "gettext-base": "GPL-3+", "bash": "GPL-3+",
    "libglib2.0-data": "LGPL-2.1+", "libgtk-3-common": "LGPL-2+", "nautilus-data": "GPL-3+",
    "gnome-control-center-data": "GPL-2+", "gedit-common": "GPL-2",
    "dolphin": "GPL-2+", "okular": "GPL-2.0-or-later", "plasma-desktop-data": "GPL-2.0-or-later",
    "systemsettings": "GPL-2+", "libkf5xmlgui-data": "LGPL-2+", "libkf5kcmutils-data": "LGPL-2.0-only",
    "libkf5parts-data": "LGPL-2+", "libkf5service-data": "LGPL-2",
}
SEED = "polycorp-sentence-split-1"
K_MIN, K_MAX = 2, 6
MIN_SENTENCES = 100  # a language with fewer gold sentences is reported, not in the micro average
MIN_INFORMATIVE = 10  # ... but scored, as information, from this many
NO_MARKS = {"th"}  # scored, but not in the micro average: no library splits it (see TH_RULES)

# language -> catalogue locales (None: the msgids, i.e. the English originals)
LANGS: dict[str, list[str] | None] = {
    "en": None, "de": ["de"], "fr": ["fr"], "es": ["es"], "ru": ["ru"], "pl": ["pl"],
    "pt": ["pt", "pt_BR"], "ja": ["ja"], "zh": ["zh_CN"], "zh_TW": ["zh_TW"],
    "hi": ["hi"], "ar": ["ar"], "th": ["th"], "ko": ["ko"], "uk": ["uk"],
}
# the code each library is given for a language
CODE = {"zh_TW": "zh"}

CASED = {"en", "de", "fr", "es", "ru", "pl", "pt", "uk"}  # a sentence starts with a capital
NO_SPACE = {"ja", "zh", "zh_TW"}  # sentences are joined with no space
# hi: GNOME's and most of KDE's Hindi translators end sentences with "." (KDE's dolphin, okular,
# kxmlgui and plasma-desktop also with "।"), so both count
TERMINAL = {"ja": "。！？", "zh": "。！？", "zh_TW": "。！？", "hi": "।.?!", "ar": "؟.!", "th": ""}
# hi, ar, th: most letters must be of the script (drops untranslated English copies)
SCRIPT = {"hi": re.compile(r"[\u0900-\u097f]"), "ar": re.compile(r"[\u0600-\u06ff\u0750-\u077f]"),
          "th": re.compile(r"[\u0e00-\u0e7f]")}
# KDE's rich text (<b>, <qt>, <br/>, &nbsp;, a translated closing tag </इंटरफ़ेस>); not
# <bug-wget@gnu.org>, <signal.h>, <PID> or coreutils' translated placeholders (<파일>, <文件>)
MARKUP = re.compile(r"</?[a-z][a-z0-9]*(\s[^<>@]*)?/?>|</[^\s<>]+>|&[a-z]+;")
DEFAULT_TERMINAL = ".!?"
CLOSERS = "\"'»”’)]」』）"

# printf directives (%s, %lu, %1$s, %.*s, %<PRIuMAX>, %%) and Qt's %1: entries with them are not
# natural text
PRINTF = re.compile(r"%(\d+\$)?[-+ #0'I]*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|L|q|j|z|t)?"
                    r"[diouxXeEfFgGaAcspnm%]|%<PRI\w+>|%\d")

# Abbreviations that may stand inside a sentence, followed by a space. Curated by hand from what
# these catalogues contain (and the common ones of each language). "mid": never ends a sentence
# (e.g., z. B., p. ex.), so any next character is accepted; "end": may end one (etc., usw.), so
# the entry is kept only when the next character is not a capital (else the entry is ambiguous and
# is dropped).
SP = r"[ \u00a0\u202f]?"  # optional (non-breaking) space inside a multi-part abbreviation
ABBREVIATIONS: dict[str, dict[str, list[str]]] = {
    "en": {"mid": [r"e\.g\.", r"i\.e\.", r"cf\.", r"vs\.", r"approx\."], "end": [r"etc\."]},
    "de": {"mid": [rf"z\.{SP}B\.", rf"d\.{SP}h\.", r"bzw\.", r"ggf\.", r"evtl\.", r"vgl\.",
                   rf"i\.{SP}A\.", rf"u\.{SP}a\.", r"ca\.", r"Nr\.", r"inkl\.", r"bspw\."],
           "end": [r"usw\.", r"etc\."]},
    "fr": {"mid": [rf"p\.{SP}ex\.", r"cf\.", r"env\."], "end": [r"etc\."]},
    "es": {"mid": [rf"p\.{SP}ej\.", r"aprox\."], "end": [r"etc\."]},
    "pt": {"mid": [rf"p\.{SP}ex\.", r"e\.g\.", r"i\.e\.", r"ex\."], "end": [r"etc\."]},
    "ru": {"mid": [r"см\.", r"См\.", rf"т\.{SP}е\.", rf"т\.{SP}к\.", r"напр\."],
           "end": [rf"т\.{SP}д\.", rf"т\.{SP}п\."]},
    "uk": {"mid": [r"див\.", r"Див\.", rf"т\.{SP}з\.", r"напр\."], "end": [rf"т\.{SP}п\.", rf"т\.{SP}д\."]},
    "pl": {"mid": [r"np\.", r"Np\.", r"tzn\.", r"zob\.", r"Zob\.", r"wg\.", rf"m\.{SP}in\."],
           "end": [r"itd\.", r"itp\."]},
}


def abbreviation_spans(lang: str, s: str) -> list[tuple[int, int, str]]:
    spans = []
    for kind, pats in ABBREVIATIONS.get(lang, {}).items():
        for pat in pats:
            for m in re.finditer(rf"(?<![\w.]){pat}", s):
                spans.append((m.start(), m.end(), kind))
    return spans


def one_sentence(lang: str, text: str, msgid: str | None = None) -> tuple[str | None, str]:
    """(the sentence, "ok" | "abbrev") if the catalogue entry is one sentence, else (None, why).

    An entry is kept when, after removing one trailing newline:
      - it is one line, with no tab, no leading or trailing whitespace, no printf directive and no
        markup (<b>, &nbsp;); in hi, ar, th most of its letters are of the language's script;
      - it ends with one of the language's terminal marks (not an ellipsis "..", "…");
      - it starts with a capital letter (cased scripts) or a letter (others);
      - it has at least 2 words (4 characters in zh/ja);
      - no terminal mark (possibly followed by closing quotes/brackets) is followed by whitespace
        before the end, unless that mark ends a listed abbreviation (see ABBREVIATIONS); in zh/ja
        no 。！？ at all before the end.
    Thai has no terminal mark, and a space separates clauses as well as sentences: a Thai entry is
    kept when its English msgid is one sentence by these rules, and it starts with a letter and has
    no .!? followed by whitespace; it may contain spaces. Lines of multi-line entries (set B) have
    no msgid of their own, so Thai has set A only.
    """
    s = text[:-1] if text.endswith("\n") else text
    if not s or "\n" in s or "\t" in s or s != s.strip():
        return None, "multiline/space"
    if PRINTF.search(s):
        return None, "printf"
    if MARKUP.search(s):
        return None, "markup"
    if lang in SCRIPT:
        letters = [c for c in s if c.isalpha()]
        if 2 * sum(bool(SCRIPT[lang].match(c)) for c in letters) <= len(letters):
            return None, "script"
    marks = TERMINAL.get(lang, DEFAULT_TERMINAL)
    if lang == "th":
        if msgid is None or one_sentence("en", msgid.split("\x04")[-1])[0] is None:
            return None, "th: msgid not one sentence"
        if not s[0].isalpha():
            return None, "no letter first"
        if re.search(r"[.!?][" + re.escape(CLOSERS) + r"]*\s", s):
            return None, "internal mark"
        return s, "ok"
    if s[-1] not in marks or s.endswith("..") or s[-2:-1] in ("…", " "):
        return None, "no final mark"
    if lang in CASED:
        if not s[0].isupper():
            return None, "not capitalised"
    elif not s[0].isalpha():
        return None, "no letter first"
    if lang in NO_SPACE:
        if len(s) < 4:
            return None, "short"
        if any(c in marks for c in s[:-1]):
            return None, "internal mark"
        if re.search(r"[.!?][" + re.escape(CLOSERS) + r"]*\s", s):
            return None, "internal mark"
        return s, "ok"
    if len(s.split()) < 2:
        return None, "short"
    spans = abbreviation_spans(lang, s)
    had_abbrev = False
    for m in re.finditer(r"[" + re.escape(marks) + r"][" + re.escape(CLOSERS) + r"]*(?=\s)", s):
        i = m.start()
        span = next((sp for sp in spans if sp[0] <= i < sp[1]), None)
        if span is None:
            return None, "internal mark"
        nxt = s[m.end():].lstrip()[:1]
        if span[2] == "end" and nxt.isupper():
            return None, "abbrev ambiguous"
        had_abbrev = True
    return s, ("abbrev" if had_abbrev else "ok")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def fetch_catalogues() -> tuple[list[tuple[str, list[str] | None]], dict[str, str], dict[str, str]]:
    """Download and unpack the Debian packages (once): PACKAGES into root/, EXTRA_PACKAGES into
    root-extra/. Return [(locale root, the locales to read there or None for all)], the package
    versions and {gettext domain: package}."""
    debs = os.path.join(WORK, "debs")
    os.makedirs(debs, exist_ok=True)
    have = {f.split("_")[0] for f in os.listdir(debs) if f.endswith(".deb")}
    missing = [p for p in PACKAGES + EXTRA_PACKAGES if p not in have]
    if missing:
        try:
            run(["apt-get", "download", *missing], cwd=debs)
        except subprocess.CalledProcessError as e:
            sys.exit(f"apt-get download {' '.join(missing)} failed (run `apt-get update` first?):\n{e.stderr}")
    versions, domains = {}, {}
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        name = run(["dpkg-deb", "-f", deb, "Package"]).stdout.strip()
        if name not in PACKAGES + EXTRA_PACKAGES:
            continue
        versions[name] = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
        for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
            if line.endswith(".mo") and "/usr/share/locale/" in line:
                domains[os.path.basename(line)[:-3]] = name
        root = os.path.join(WORK, "root" if name in PACKAGES else "root-extra")
        stamp = os.path.join(root, f".{name}-{versions[name]}")
        if not os.path.exists(stamp):
            run(["dpkg", "-x", deb, root])
            open(stamp, "w").close()
    roots = [(os.path.join(WORK, "root", "usr", "share", "locale"), None),
             (os.path.join(WORK, "root-extra", "usr", "share", "locale"), EXTRA_LOCALES)]
    return roots, versions, domains


Entry = tuple[str, str, str]  # (gettext domain, msgid, msgstr)


def read_catalogues(roots: list[tuple[str, list[str] | None]]) -> tuple[dict[str, list[Entry]], list[str]]:
    """{locale: [(domain, msgid, msgstr)]} in root/locale/domain/catalogue order, and
    {"msgid": [(domain, msgid, msgid)]} for English (from the first root only); and the catalogues
    that GNUTranslations could not read."""
    failures = []
    out: dict[str, list[Entry]] = {}
    msgids: dict[str, set[str]] = {}
    for i, (locale_root, locales) in enumerate(roots):
        for loc in sorted(os.listdir(locale_root)):
            if locales is not None and loc not in locales:
                continue
            for mo in sorted(glob.glob(os.path.join(locale_root, loc, "LC_MESSAGES", "*.mo"))):
                domain = os.path.basename(mo)[:-3]
                try:
                    with open(mo, "rb") as f:
                        cat = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
                except (UnicodeDecodeError, OSError) as e:
                    failures.append(f"{loc}/{domain}.mo: {type(e).__name__}: {e}")
                    continue
                for k, v in cat.items():
                    if isinstance(k, str) and k:  # plural forms are (msgid, n) keys; "" is the header
                        out.setdefault(loc, []).append((domain, k, v))
                        if i == 0:
                            msgids.setdefault(domain, set()).add(k)
    out["msgid"] = [(d, k, k) for d in sorted(msgids) for k in sorted(msgids[d])]
    return out, failures


def _paragraphs(pool: list[str], rng: random.Random) -> list[list[str]]:
    """k consecutive sentences per paragraph, k drawn from K_MIN..K_MAX; a last lone one is dropped."""
    out, i = [], 0
    while i < len(pool):
        k = rng.randint(K_MIN, K_MAX)
        chunk = pool[i:i + k]
        i += k
        if len(chunk) >= 2:
            out.append(chunk)
    return out


def line_sentences(lang: str, text: str) -> list[tuple[str, str]]:
    """Set B: the lines of a multi-line entry (help texts) that are one sentence by `one_sentence`,
    stripped of their indentation, that start a sentence (first line, or the line before is blank
    or ends with a terminal mark or ':'), have no column layout (two spaces) and do not end with a
    listed abbreviation (where the sentence could go on on the next line)."""
    out, prev = [], ""
    marks = TERMINAL.get(lang, DEFAULT_TERMINAL) + ":"
    for line in text.split("\n"):
        st = line.strip()
        if (not prev or prev[-1] in marks) and "  " not in st:
            s, why = one_sentence(lang, st)
            if s and not any(e == len(s) for _b, e, _k in abbreviation_spans(lang, s)):
                out.append((s, why))
        prev = st
    return out


def abbreviation_probes(lang: str, entries: list[Entry]) -> list[dict]:
    """Lines of any entry (printf directives allowed) where a listed abbreviation is followed by
    whitespace and no other terminal mark is: the abbreviation is not a sentence end, so a
    segmenter must not split after it. ("end" abbreviations only when a lowercase letter or a digit
    follows.)"""
    probes: dict[str, list[int]] = {}
    for _domain, _msgid, text in entries:
        for line in text.split("\n"):
            st = line.strip()
            spans = abbreviation_spans(lang, st)
            if not spans or st in probes:
                continue
            ok, after = True, []
            for m in re.finditer(r"[.!?][" + re.escape(CLOSERS) + r"]*(?=\s)", st):
                span = next((sp for sp in spans if sp[0] <= m.start() < sp[1]), None)
                if span is None:
                    ok = False
                    break
                if m.end() != span[1]:
                    continue  # the inner dot of "z. B."
                nxt = st[m.end():].lstrip()[:1]
                if span[2] == "end" and not (nxt.islower() or nxt.isdigit()):
                    ok = False
                    break
                after.append(len(nonspace(st[:m.end()])))
            if ok and after:
                probes[st] = after
    return [{"text": t, "not_boundaries": a} for t, a in probes.items()]


def thai_entries(entries: list[Entry]) -> list[dict]:
    """Real multi-sentence Thai paragraphs: one-line Thai entries (no printf, no markup, Thai
    script) whose English msgid is k >= 2 sentences, each one by `one_sentence`. Where the Thai
    sentences end is not known, only that the translator wrote about k of them; a splitter's
    piece count is compared with k."""
    out, seen = [], set()
    for _domain, msgid, text in entries:
        en = msgid.split("\x04")[-1]
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", en)
        if len(parts) < 2 or any(one_sentence("en", x)[0] is None for x in parts) or text in seen:
            continue
        st = text[:-1] if text.endswith("\n") else text
        if one_sentence("th", st, parts[0])[1] not in ("ok", "internal mark"):
            continue  # multiline, printf, markup, not Thai, no letter first
        seen.add(text)
        out.append({"msgid": en, "text": st, "english_sentences": len(parts)})
    return out


def build_gold() -> dict:
    roots, deb_versions, domains = fetch_catalogues()
    catalogues, failures = read_catalogues(roots)
    gold = {"debian_packages": {p: {"version": v, "licence": LICENCES[p], "locales": "all" if p in PACKAGES
                                    else EXTRA_LOCALES} for p, v in deb_versions.items()},
            "unreadable_catalogues": failures, "languages": {}}
    for lang, locales in LANGS.items():
        entries = catalogues["msgid"] if locales is None else [e for loc in locales for e in catalogues.get(loc, [])]
        pools: dict[str, list[str]] = {"A": [], "B": []}
        seen, why_counts, abbrev, by_package = set(), {}, [], {}
        for domain, msgid, text in entries:
            s, why = one_sentence(lang, text, msgid)
            if s is None:
                why_counts[why] = why_counts.get(why, 0) + 1
                found = [("B", s2, why2) for s2, why2 in line_sentences(lang, text)] if "\n" in text.rstrip("\n") else []
            else:
                found = [("A", s, why)]
            for set_, s2, why2 in found:
                if s2 in seen:
                    continue
                seen.add(s2)
                pools[set_].append(s2)
                package = domains.get(domain, "?")
                by_package[package] = by_package.get(package, 0) + 1
                if why2 == "abbrev":
                    abbrev.append(s2)
        n = len(pools["A"]) + len(pools["B"])
        rows = []
        for set_ in ("A", "B"):
            rng = random.Random(f"{SEED}-{lang}-{set_}")
            rows += [{"set": set_, "sentences": chunk, "text": joiner(lang).join(chunk)}
                     for chunk in _paragraphs(pools[set_], rng)]
        probes = abbreviation_probes(lang, entries)
        gold["languages"][lang] = {
            "locales": locales or ["msgid"], "catalogue_entries": len(entries),
            "sentences": n, "sentences_A": len(pools["A"]), "sentences_B": len(pools["B"]),
            "sentences_by_package": by_package,
            "sentences_by_final_mark": final_marks(pools["A"] + pools["B"]) if lang in EXTRA_LOCALES else None,
            "paragraphs": len(rows), "abbreviation_sentences": abbrev, "abbreviation_probes": len(probes),
            "rejected_entries": why_counts, "scored": n >= MIN_SENTENCES}
        with open(os.path.join(WORK, f"{lang}.gold.jsonl"), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        with open(os.path.join(WORK, f"{lang}.abbrev.jsonl"), "w", encoding="utf-8") as f:
            for row in probes:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    th = thai_entries([e for loc in LANGS["th"] or [] for e in catalogues.get(loc, [])])
    gold["th_multi_sentence_entries"] = len(th)
    with open(os.path.join(WORK, "th.entries.jsonl"), "w", encoding="utf-8") as f:
        for row in th:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return gold


def final_marks(sentences: list[str]) -> dict[str, int]:
    """How many sentences end with each punctuation mark, or with none ("-")."""
    out: dict[str, int] = {}
    for s in sentences:
        key = s[-1] if unicodedata.category(s[-1])[0] in "PS" else "-"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def joiner(lang: str) -> str:
    return "" if lang in NO_SPACE else " "


def load_gold(lang: str, kind: str = "gold") -> list[dict]:
    with open(os.path.join(WORK, f"{lang}.{kind}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ----------------------------------------------------------------------------------------------
# Segmenters: name -> factory(code) -> (callable(text) -> list[str], code actually used)

IMPORT_CPU: dict[str, float] = {}


def _imported(name: str, fn):
    t = time.process_time()
    mod = fn()
    IMPORT_CPU[name] = time.process_time() - t
    return mod


def make_sentencex(code):
    import sentencex
    return (lambda text: list(sentencex.segment(code, text))), code


CJK_END = re.compile(r"[。！？]+[" + re.escape(CLOSERS) + r"]*")


def cjk_split(text: str) -> list[str]:
    """Split after each run of 。！？ and the closing quotes/brackets that follow it."""
    out, start = [], 0
    for m in CJK_END.finditer(text):
        if m.end() < len(text):
            out.append(text[start:m.end()])
            start = m.end()
    out.append(text[start:])
    return out



def make_sentencex_cjk(code):
    """sentencex, then for zh/ja each segment split again after 。！？ (+ closing quotes/brackets):
    the rule this benchmark proposes for zh/ja (sentencex does not split at 。 when the next
    sentence starts with a Latin letter, nor inside quotes it pairs across sentences)."""
    import sentencex
    if code not in ("zh", "ja"):
        return (lambda text: list(sentencex.segment(code, text))), code
    return (lambda text: [p for s in sentencex.segment(code, text) for p in cjk_split(s) if p]), code


def make_pysbd(code):
    import pysbd
    used = code if code in pysbd.languages.LANGUAGE_CODES else "en"
    seg = pysbd.Segmenter(language=used, clean=False)
    return seg.segment, used


def make_blingfire(code):
    import blingfire
    return (lambda text: blingfire.text_to_sentences(text).split("\n")), None


def make_syntok(code):
    from syntok import segmenter, tokenizer
    tok = tokenizer.Tokenizer(replace_not_contraction=False)  # default rewrites "n't" to "not"

    def seg(text):
        return ["".join(t.spacing + t.value for t in sent) for sent in segmenter.split(tok.tokenize(text))]
    return seg, None


def make_icu(code, ss=False):
    """ICU's sentence BreakIterator (UAX #29 + CLDR tailoring); with ss=True the locale asks for
    CLDR's abbreviation suppressions ("@ss=standard")."""
    import icu
    locale = f"{code}@ss=standard" if ss else code
    bi = icu.BreakIterator.createSentenceInstance(icu.Locale(locale))

    def seg(text):
        us = icu.UnicodeString(text)  # ICU offsets are UTF-16 code units
        bi.setText(us)
        out, start = [], 0
        for end in bi:
            out.append(str(us[start:end]))
            start = end
        return out
    return seg, locale


def make_naive(code):
    """The rule polycorp would write itself: split after a terminal mark (+ closing quotes) that is
    followed by whitespace; for zh/ja after 。！？ (+ closing quotes) whatever follows."""
    if code in ("zh", "ja"):
        return cjk_split, code
    pat = re.compile(r"(?<=[.!?।؟" + re.escape(CLOSERS) + r"])(?<![^.!?।؟][" + re.escape(CLOSERS) + r"])\s+")
    return (lambda text: pat.split(text)), code


def make_polycorp(code):
    """polycorp's own splitter, transforms/sentences.py: sentencex per line, then the zh/ja rule
    (as sentencex+cjk) and the Thai rule (TH_RULES' last)."""
    sys.path.insert(0, os.path.dirname(HERE))
    from transforms.sentences import split_sentences
    return (lambda text: split_sentences(text, code)), code


SEGMENTERS = {
    "sentencex": (make_sentencex, lambda: __import__("sentencex")),
    "sentencex+cjk": (make_sentencex_cjk, lambda: __import__("sentencex")),
    "polycorp": (make_polycorp, lambda: __import__("sentencex")),
    "pysbd": (make_pysbd, lambda: __import__("pysbd")),
    "blingfire": (make_blingfire, lambda: __import__("blingfire")),
    "syntok": (make_syntok, lambda: __import__("syntok.segmenter")),
    "pyicu": (make_icu, lambda: __import__("icu")),
    "pyicu ss": (lambda code: make_icu(code, ss=True), lambda: __import__("icu")),
    "naive rule": (make_naive, lambda: re),
}
DISTS = {  # the distributions each library installs (with the dependencies it imports)
    "sentencex": ["sentencex"], "sentencex+cjk": ["sentencex"], "pysbd": ["pysbd"], "blingfire": ["blingfire", "numpy"],
    "syntok": ["syntok", "regex"], "pyicu": ["pyicu"], "pyicu ss": ["pyicu"],
}
NOT_LIBRARIES = ("polycorp", "naive rule")  # no metadata, install size or import cost of their own

# ----------------------------------------------------------------------------------------------
# Thai: no sentence mark, and no library splits it. Rules tried on each sentencex segment (which
# splits Thai only at . ! ?), against the Thai gold and the real multi-sentence entries.
TH_ANY = "\u0e01-\u0e5b"
TH_LEFT = "\u0e01-\u0e2e\u0e30-\u0e3a\u0e40-\u0e45\u0e47-\u0e4e\u0e50-\u0e5b"  # not ฯ ๆ ฿ ๏
TH_RIGHT = "\u0e01-\u0e2e\u0e40-\u0e44"  # a consonant or a leading vowel: where a word starts
# and, or, but (not แต่ง "compose"), then, which, by, so that (not เพื่อน "friend"), therefore, also:
# written from Thai grammar, not from the gold's errors
TH_CONJUNCTIONS = "และ|หรือ|แต่(?!ง)|แล้ว|ซึ่ง|โดย|เพื่อ(?!น)|จึง|ก็"
TH_SPACE = re.compile(rf"(?<=[{TH_ANY}])\s+(?=[{TH_ANY}])")


def th_min_words(n: int):
    """TH_SPACE, only where the words on both sides of the space have at least n characters."""
    def split(text: str) -> list[str]:
        out, start = [], 0
        for m in TH_SPACE.finditer(text):
            left = text[:m.start()].rsplit(None, 1)[-1]
            right = text[m.end():].split(None, 1)[0]
            if len(left) >= n and len(right) >= n:
                out.append(text[start:m.start()])
                start = m.end()
        return out + [text[start:]]
    return split


TH_RULES = {
    "one sentence per line (sentencex)": lambda text: [text],
    "space between Thai characters": TH_SPACE.split,
    "... words on both sides >= 4 chars": th_min_words(4),
    "... words on both sides >= 8 chars": th_min_words(8),
    "... not after ๆ ฯ": re.compile(rf"(?<=[{TH_LEFT}])\s+(?=[{TH_RIGHT}])").split,
    "... not after ๆ ฯ, not before a conjunction":
        re.compile(rf"(?<=[{TH_LEFT}])\s+(?!{TH_CONJUNCTIONS})(?=[{TH_RIGHT}])").split,
}


def make_thai(rule):
    import sentencex
    return lambda text: [p for s in sentencex.segment("th", text) for p in rule(s)]


def score_entries(seg, entries: list[dict]) -> dict:
    """Real multi-sentence Thai entries (see `thai_entries`): how often the splitter gives as many
    pieces as the English msgid has sentences, more, or fewer."""
    same = more = fewer = pieces = k = 0
    for e in entries:
        n = len([p for p in seg(e["text"]) if p.strip()])
        same += n == e["english_sentences"]
        more += n > e["english_sentences"]
        fewer += n < e["english_sentences"]
        pieces += n
        k += e["english_sentences"]
    return {"entries": len(entries), "same_count": same, "more": more, "fewer": fewer,
            "pieces_per_english_sentence": round(pieces / k, 3) if k else None}


# ----------------------------------------------------------------------------------------------
# Scoring

def nonspace(s: str) -> str:
    return "".join(c for c in s if not c.isspace())


def boundaries(parts: list[str]) -> tuple[list[int], str]:
    """Internal boundaries as counts of non-whitespace characters, and the non-whitespace text."""
    out, n = [], 0
    for p in parts:
        m = len(nonspace(p))
        if m == 0:
            continue
        n += m
        out.append(n)
    return out[:-1], "".join(nonspace(p) for p in parts)


def prf(tp: int, fp: int, fn: int) -> dict:
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4)}


def score(seg, paragraphs: list[dict]) -> dict:
    counts = {set_: {"tp": 0, "fp": 0, "fn": 0, "perfect": 0, "paragraphs": 0, "altered": 0} for set_ in ("A", "B")}
    errors, by_mark = [], {}
    for para in paragraphs:
        c = counts[para["set"]]
        gold_b, gold_text = boundaries(para["sentences"])
        pred = seg(para["text"])
        pred_b, pred_text = boundaries(pred)
        if pred_text != gold_text:
            c["altered"] += 1
        g, p = set(gold_b), set(pred_b)
        for b, sentence in zip(gold_b, para["sentences"]):
            mark = sentence[-1] if unicodedata.category(sentence[-1])[0] in "PS" else "-"
            by_mark.setdefault(mark, [0, 0])[0] += b in p
            by_mark[mark][1] += 1
        c["tp"] += len(g & p)
        c["fp"] += len(p - g)
        c["fn"] += len(g - p)
        c["paragraphs"] += 1
        if g == p:
            c["perfect"] += 1
        elif len(errors) < 2:
            errors.append({"gold": para["sentences"], "pred": pred})
    out = {}
    for key, cs in (("all", list(counts.values())), ("A", [counts["A"]]), ("B", [counts["B"]])):
        tot = {k: sum(c[k] for c in cs) for k in counts["A"]}
        out[key] = {**prf(tot["tp"], tot["fp"], tot["fn"]), **tot,
                    "perfect_paragraphs": tot["perfect"],
                    "perfect": round(tot["perfect"] / tot["paragraphs"], 4) if tot["paragraphs"] else None}
    return {**out.pop("all"), "by_set": out, "recall_by_final_mark": by_mark, "examples_of_errors": errors}


def score_probes(seg, probes: list[dict]) -> dict:
    """Share of abbreviations (followed by whitespace, inside a sentence) that the segmenter does
    not split after."""
    n = kept = 0
    wrong = []
    for probe in probes:
        pred_b, _ = boundaries(seg(probe["text"]))
        for pos in probe["not_boundaries"]:
            n += 1
            if pos in pred_b:
                if len(wrong) < 5:
                    wrong.append(probe["text"])
            else:
                kept += 1
    return {"abbreviations": n, "not_split": kept, "share_not_split": round(kept / n, 4) if n else None,
            "examples_split": wrong}


def speed(make, langs: list[str], gold: dict[str, list[dict]], passes: int = 3, min_pass_s: float = 0.2) -> dict:
    """Min over `passes` passes of the CPU time to segment every gold paragraph once; a pass goes
    over the gold `reps` times (the same for each language), enough for one pass to take at least
    min_pass_s in all, and the time is divided by reps."""
    segs = {lang: make(CODE.get(lang, lang))[0] for lang in langs}
    texts = {lang: [p["text"] for p in gold[lang]] for lang in langs}
    t = time.process_time()
    for lang in langs:
        for text in texts[lang]:
            segs[lang](text)
    once = time.process_time() - t
    reps = max(1, int(min_pass_s / max(once, 1e-6)) + 1) if once < min_pass_s else 1
    per_lang = {}
    for lang in langs:
        best = float("inf")
        for _ in range(passes):
            t = time.process_time()
            for _r in range(reps):
                for text in texts[lang]:
                    segs[lang](text)
            best = min(best, (time.process_time() - t) / reps)
        per_lang[lang] = best
    n_sent = sum(len(p["sentences"]) for lang in langs for p in gold[lang])
    n_chars = sum(len(p["text"]) for lang in langs for p in gold[lang])
    total = sum(per_lang.values())
    return {"cpu_s": round(total, 5), "reps_per_pass": reps, "sentences": n_sent, "sentences_per_cpu_s": round(n_sent / total),
            "chars_per_cpu_s": round(n_chars / total),
            "sentences_per_cpu_s_by_language": {lang: round(sum(len(p["sentences"]) for p in gold[lang]) / t)
                                                for lang, t in per_lang.items()}}


# ----------------------------------------------------------------------------------------------
# Behaviour, metadata

def behaviour_sentences(lang: str, paragraphs: list[dict], n: int) -> list[str]:
    """The first n sentences of the first set-A paragraph (of at least n) that the most libraries
    segment perfectly: the behaviour checks then show the layout's effect, not a sentence's."""
    segs = [make(CODE.get(lang, lang))[0] for name, (make, _) in SEGMENTERS.items() if name != "polycorp"]
    best, best_n = None, -1
    for para in paragraphs:
        if para["set"] != "A" or len(para["sentences"]) < n:
            continue
        g = boundaries(para["sentences"])[0]
        ok = sum(boundaries(seg(para["text"]))[0] == g for seg in segs)
        if ok > best_n:
            best, best_n = para, ok
    return best["sentences"][:n]


def behaviour(make, en: list[str], zh: list[str]) -> dict:
    """Real gold sentences A, B, C; what comes out for layouts polycorp meets."""
    a, b, c = en[:3]
    za, zb = zh[:2]
    cases = {
        "no_final_mark": a + " " + b[:-1],
        "newline": a + "\n" + b + "\n\n" + c,
        "newline_no_marks": a[:-1] + "\n" + b[:-1] + "\n\n" + c[:-1],
        "zh_no_final_mark": za + zb[:-1],
    }
    out = {}
    for name, text in cases.items():
        seg, _ = make("zh" if name.startswith("zh") else "en")
        parts = seg(text)
        out[name] = {"input": text, "output": parts}
    nl = out["newline"]["output"]
    nm = out["newline_no_marks"]["output"]
    out["summary"] = {
        "keeps_unterminated_tail": nonspace(out["no_final_mark"]["output"][-1]).endswith(nonspace(b[:-1])[-5:])
                                   and len([p for p in out["no_final_mark"]["output"] if p.strip()]) == 2,
        "keeps_newlines_in_output": any("\n" in p for p in nl) or any("\n" in p for p in nm),
        "splits_at_single_newline_without_mark": len([p for p in nm if p.strip()]) >= 3,
        "splits_at_blank_line_without_mark": len([p for p in nm if p.strip()]) >= 2,
        "empty_or_whitespace_segments": any(not p.strip() for p in nl + nm),
    }
    return out


def unknown_code(name: str, make) -> dict:
    out = {}
    for code in ("xx", "th", "ko", "uk", "pt", "hi"):
        try:
            seg, used = make(code)
            seg("One. Two.")
            out[code] = "accepted" if used in (code, None, f"{code}@ss=standard") else f"not supported: used {used!r}"
        except Exception as e:  # noqa: BLE001 - report whatever the library raises
            out[code] = f"raises {type(e).__name__}: {str(e)[:120]}"
    if name == "pysbd":
        import pysbd
        out["supported"] = sorted(pysbd.languages.LANGUAGE_CODES)
    return out


def dist_meta(dist: str) -> dict:
    from importlib.metadata import distribution
    d = distribution(dist)
    meta = d.metadata
    lic = meta.get("License-Expression") or meta.get("License")
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    size = 0
    top = set()
    for f in d.files or []:
        p = f.locate()
        if os.path.isfile(p):
            size += os.path.getsize(p)
        if "/" in str(f) and not str(f).split("/")[0].endswith((".dist-info", ".libs")) and not str(f).startswith(".."):
            top.add(str(f).split("/")[0])
    return {"version": d.version, "license": lic, "license_classifiers": classifiers,
            "installed_bytes": size, "top_level_packages": sorted(top),
            "requires": d.requires or []}


def artefact_date(dist: str, version: str) -> dict:
    """The newest timestamp inside the released artefact that setup_sentences.sh downloaded: the
    build date (at most the upload date). Reproducible builds set a fixed one (1980, 2016): then
    pip gives no date."""
    d = os.path.join(WORK, "dists")
    for f in sorted(glob.glob(os.path.join(d, f"{dist}-{version}*"))):
        if f.endswith(".whl"):
            with zipfile.ZipFile(f) as z:
                ts = max(i.date_time for i in z.infolist())
            date = "%04d-%02d-%02d" % ts[:3]
        elif f.endswith(".tar.gz"):
            with tarfile.open(f) as t:
                date = time.strftime("%Y-%m-%d", time.gmtime(max(m.mtime for m in t.getmembers())))
        else:
            continue
        fixed = date[:4] in ("1980", "2016") and date[5:] in ("01-01",)
        return {"artefact": os.path.basename(f), "bytes": os.path.getsize(f),
                "newest_timestamp": None if fixed else date, "note": "fixed timestamp, no date" if fixed else ""}
    return {"artefact": None}


def import_cost(name: str) -> dict:
    """CPU seconds and peak RSS of importing the library and segmenting one sentence, in a fresh
    process (over a bare interpreter)."""
    stmt = {
        "sentencex": "import sentencex; list(sentencex.segment('en', 'One. Two.'))",
        "pysbd": "import pysbd; pysbd.Segmenter(language='en', clean=False).segment('One. Two.')",
        "blingfire": "import blingfire; blingfire.text_to_sentences('One. Two.')",
        "syntok": "from syntok import segmenter, tokenizer; list(segmenter.split(tokenizer.Tokenizer().tokenize('One. Two.')))",
        "pyicu": "import icu; b = icu.BreakIterator.createSentenceInstance(icu.Locale('en@ss=standard')); b.setText('One. Two.'); list(b)",
    }[name]
    # peak RSS from /proc (VmHWM: reset by exec, unlike ru_maxrss, which a child inherits)
    code = ("import time, json, re\n"
            "hwm = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
            "t = time.process_time(); r0 = hwm()\n"
            f"{stmt}\n"
            "print(json.dumps([time.process_time() - t, r0, hwm()]))")
    best = None
    for _ in range(3):
        cpu, r0, r1 = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                text=True).stdout)
        best = cpu if best is None else min(best, cpu)
    return {"import_and_first_call_cpu_s": round(best, 3), "rss_mb_added": round((r1 - r0) / 1024, 1)}


# ----------------------------------------------------------------------------------------------

def main() -> None:
    t_start, busy_start = time.time(), machine_busy_s()
    cpu_start = time.process_time()
    os.makedirs(WORK, exist_ok=True)
    gold_info = build_gold()
    gl = gold_info["languages"]
    langs = [lang for lang, info in gl.items() if info["scored"]]
    micro_langs = [lang for lang in langs if lang not in NO_MARKS]
    informative = [lang for lang, info in gl.items() if not info["scored"] and info["sentences"] >= MIN_INFORMATIVE]
    too_few = {lang: info["sentences"] for lang, info in gl.items() if not info["scored"]}
    gold = {lang: load_gold(lang) for lang in langs + informative}
    probes = {lang: load_gold(lang, "abbrev") for lang in langs}
    probes = {lang: p for lang, p in probes.items() if p}

    en3, zh2 = behaviour_sentences("en", gold["en"], 3), behaviour_sentences("zh", gold["zh"], 2)
    results: dict = {"code_version": code_version(), "python": sys.version.split()[0], "gold": gold_info,
                     "languages_scored": langs, "languages_in_micro": micro_langs, "languages_too_few": too_few,
                     "languages_informative": informative, "libraries": {}}
    for name, (make, imp) in SEGMENTERS.items():
        _imported(name, imp)
        lib: dict = {"codes_used": {}, "quality": {}, "abbreviation_probes": {}}
        for lang in langs + informative:
            seg, used = make(CODE.get(lang, lang))
            lib["codes_used"][lang] = used
            lib["quality"][lang] = score(seg, gold[lang])
        for lang, pr in probes.items():
            lib["abbreviation_probes"][lang] = score_probes(make(CODE.get(lang, lang))[0], pr)
        q = lib["quality"]
        tp, fp, fn = (sum(q[lang][x] for lang in micro_langs) for x in ("tp", "fp", "fn"))
        lib["micro"] = {**prf(tp, fp, fn), "perfect": round(sum(q[lang]["perfect_paragraphs"] for lang in micro_langs)
                                                             / sum(q[lang]["paragraphs"] for lang in micro_langs), 4)}
        ap = lib["abbreviation_probes"].values()
        n_ab, kept = sum(a["abbreviations"] for a in ap), sum(a["not_split"] for a in ap)
        lib["abbreviations_not_split"] = {"abbreviations": n_ab, "not_split": kept,
                                          "share": round(kept / n_ab, 4) if n_ab else None}
        lib["speed"] = speed(make, langs, gold)
        lib["behaviour"] = behaviour(make, en3, zh2)
        if name not in NOT_LIBRARIES:
            lib["language_code"] = unknown_code(name, make)
            lib["dists"] = {}
            for dist in DISTS[name]:
                m = dist_meta(dist)
                m["release"] = artefact_date(dist, m["version"])
                lib["dists"][dist] = m
            lib["installed_bytes"] = sum(m["installed_bytes"] for m in lib["dists"].values())
            lib["import"] = import_cost(re.split(r"[ +]", name)[0])
            lib["import_cpu_s_in_run"] = round(IMPORT_CPU[name], 3)
        results["libraries"][name] = lib
        print(f"  {name}: micro F1 {lib['micro']['f1']:.3f}, {lib['speed']['sentences_per_cpu_s']:,} sentences/CPU-s",
              file=sys.stderr)

    th_entries = load_gold("th", "entries")
    rules = {**TH_RULES, "polycorp (transforms/sentences.py)": None}
    results["thai_rules"] = {}
    for rule_name, rule in rules.items():
        seg = make_thai(rule) if rule else make_polycorp("th")[0]
        q = score(seg, gold["th"])
        results["thai_rules"][rule_name] = {**{k: q[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn", "perfect")},
                                            "multi_sentence_entries": score_entries(seg, th_entries),
                                            "examples_of_errors": q["examples_of_errors"]}

    try:
        icu_pkg = run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Installed-Size}", "libicu72"]).stdout.split()
        for name in ("pyicu", "pyicu ss"):
            results["libraries"][name]["system_icu"] = {"package": icu_pkg[0], "version": icu_pkg[1],
                                                        "installed_kib": int(icu_pkg[2])}
    except (subprocess.CalledProcessError, FileNotFoundError, IndexError):
        pass
    results["network_attempts"] = NETWORK_ATTEMPTS
    wall = time.time() - t_start
    results["run"] = {"wall_s": round(wall, 1), "cpu_s": round(time.process_time() - cpu_start, 1),
                      "machine_busy_cores": round((machine_busy_s() - busy_start) / wall, 2),
                      "date": time.strftime("%Y-%m-%d")}
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, indent=1)
    print_table(results)


def print_table(r: dict) -> None:
    langs = r["languages_scored"] + r["languages_informative"]
    libs = list(r["libraries"])
    L = r["libraries"]
    gl = r["gold"]["languages"]
    print(f"gold: {sum(gl[x]['sentences'] for x in r['languages_scored'])} sentences in "
          f"{sum(gl[x]['paragraphs'] for x in r['languages_scored'])} paragraphs, {len(r['languages_scored'])} languages; "
          f"fewer than {MIN_SENTENCES} sentences: " + (", ".join(f"{k} {v}" for k, v in r["languages_too_few"].items())
                                                       or "none"))
    print("boundary F1 (share of paragraphs segmented perfectly)")
    w = 15
    print(f"{'lang':6} {'sents':>5} {'paras':>5} " + "".join(f"{n:>{w}}" for n in libs))
    for lang in langs:
        row = f"{lang:6} {gl[lang]['sentences']:5d} {gl[lang]['paragraphs']:5d} "
        for n in libs:
            q = L[n]["quality"][lang]
            cell = f"{q['f1']:.3f} ({q['perfect']:.2f})"
            if L[n]["codes_used"][lang] not in (None, CODE.get(lang, lang), f"{CODE.get(lang, lang)}@ss=standard"):
                cell = "*" + cell
            row += f"{cell:>{w}}"
        print(row + ("   (informative: < %d sentences, not in micro)" % MIN_SENTENCES if lang not in r["languages_scored"]
                     else "   (no sentence marks: not in micro)" if lang not in r["languages_in_micro"] else ""))
    print(f"{'micro':18}" + "".join(f"{L[n]['micro']['f1']:.3f} ({L[n]['micro']['perfect']:.2f})".rjust(w) for n in libs))
    print(f"{'micro P / R':18}" + "".join(f"{L[n]['micro']['precision']:.3f}/{L[n]['micro']['recall']:.3f}".rjust(w) for n in libs))
    print(f"{'abbrev. not split':18}" + "".join(
        f"{L[n]['abbreviations_not_split']['not_split']}/{L[n]['abbreviations_not_split']['abbreviations']}".rjust(w) for n in libs))
    print(f"{'sentences/CPU-s':18}" + "".join(f"{L[n]['speed']['sentences_per_cpu_s']:,}".rjust(w) for n in libs))
    print(f"{'altered paras':18}" + "".join(str(sum(q['altered'] for q in L[n]['quality'].values())).rjust(w) for n in libs))
    print("  * = language not supported by the library: it ran with its English rules")
    print("recall at gold boundaries, by the final mark of the sentence before (found/all)")
    for lang in [x for x in EXTRA_LOCALES if x in langs and x not in NO_MARKS]:
        for mark in L[libs[0]]["quality"][lang]["recall_by_final_mark"]:
            print(f"  {lang} {mark:15}" + "".join("{}/{}".format(*L[n]["quality"][lang]["recall_by_final_mark"][mark]).rjust(w)
                                                  for n in libs))
    print("behaviour (en gold sentences; see JSON for the outputs):")
    for key in next(iter(L.values()))["behaviour"]["summary"]:
        print(f"  {key:40}" + "".join(str(L[n]['behaviour']['summary'][key]).rjust(w) for n in libs))
    print(f"Thai ({gl['th']['sentences']} sentences, {gl['th']['paragraphs']} paragraphs; "
          f"{r['gold']['th_multi_sentence_entries']} real multi-sentence entries): rules on sentencex's segments")
    print(f"  {'rule':48} {'P':>6} {'R':>6} {'F1':>6} {'perfect':>7}   entries: same / more / fewer pieces than English sentences")
    for name, t in r["thai_rules"].items():
        e = t["multi_sentence_entries"]
        print(f"  {name:48} {t['precision']:6.3f} {t['recall']:6.3f} {t['f1']:6.3f} {t['perfect']:7.2f}"
              f"   {e['same_count']} / {e['more']} / {e['fewer']}")
    print(f"network attempts: {len(r['network_attempts'])}; run: {r['run']}")


if __name__ == "__main__":
    main()
