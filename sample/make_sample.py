#!/usr/bin/env python3
"""Build the polycorp sample corpus: real translated manual pages as a WARC.

The pages come from Debian packages (``manpages``, ``manpages-de``, ...,
``manpages-ja``, ``manpages-zh`` and the English originals of the translated
commands).  They are fetched with ``apt-get download``, unpacked with
``dpkg -x``, rendered with ``mandoc -Thtml`` and wrapped in the page template
of a fictitious mirror site, ``https://manpages.example.org/``.  The result is
written as a WARC/1.1 file (one gzip member per record) with warcio.

Usage (run from anywhere; paths are relative to the current directory)::

    python make_sample.py                      # sample/sample.warc.gz + sample/gold.jsonl.gz
    python make_sample.py --out x.warc.gz --gold x.gold.jsonl
    python make_sample.py --full /tmp/full.warc.gz   # >= 20,000 pages (+ /tmp/full.gold.jsonl.gz)
    python make_sample.py --site /tmp/site      # the small sample as a static website
    python make_sample.py --verify sample/sample.warc.gz --gold sample/gold.jsonl.gz

Requirements: Debian/Ubuntu with apt-get, dpkg and mandoc (``apt-get install
mandoc``; the script installs it itself when run as root), and Python packages
warcio (and, for --verify, optionally fastwarc).

Determinism: record IDs are uuid5 of (record type, URL), dates are fixed,
records are written in a fixed order and every gzip member has mtime 0, so two
runs with the same package versions, mandoc version and zlib give a
byte-identical file.  The small sample pins the package versions it was made
from (see SMALL_PACKAGES); if a pinned version is no longer downloadable the
newest candidate is used instead and a warning is printed (the output then
may differ from the committed file).
"""

import argparse
import collections
import datetime
import glob
import gzip
import hashlib
import html
import io
import json
import multiprocessing
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

SITE_HOST = "manpages.example.org"
SITE = "https://" + SITE_HOST
SITE_NAME = "manpages.example.org"
SERVER_IP = "192.0.2.80"  # TEST-NET-1 (RFC 5737)
USER_AGENT = "polycorp-sample-crawler/0.1 (+https://crawler.example.net/bot.html)"

# Fixed crawl time: first record; every fetch adds 2 seconds.
CRAWL_START = datetime.datetime(2024, 3, 1, 9, 0, 0)
# Last-Modified of all served files (Debian 12 "bookworm" release day).
LAST_MODIFIED = datetime.datetime(2023, 6, 10, 0, 0, 0)

# Packages of the small sample, pinned to the versions the committed sample
# was built from (Debian 12 bookworm).  Order = priority: when two packages
# ship the same page (language, section, name) the first one wins.
SMALL_PACKAGES = [
    ("manpages", "6.03-2"),
    ("manpages-de", "4.18.1-1"),
    ("manpages-fr", "4.18.1-1"),
    ("manpages-es", "4.18.1-1"),
    ("manpages-it", "4.18.1-1"),
    ("manpages-nl", "4.18.1-1"),
    ("manpages-pl", "1:4.18.1-1"),
    ("manpages-pt-br", "4.18.1-1"),
    ("manpages-ru", "4.18.1-1"),
    ("manpages-uk", "4.18.1-1"),
    ("manpages-ja", "0.5.0.0.20221215+dfsg-1"),
    ("manpages-zh", "1.6.4.0-1"),
    # English originals of the translated command pages (the `manpages`
    # package itself only has sections 1 (few), 2-8 of the Linux man-pages
    # project).  Some of them also ship translations (procps, passwd).
    ("coreutils", "9.1-1"),
    ("grep", "3.8-5"),
    ("findutils", "4.9.0-4"),
    ("tar", "1.34+dfsg-1.2+deb12u1"),
    ("gzip", "1.12-1"),
    ("procps", "2:4.0.2-3"),
    ("passwd", "1:4.13+dfsg1-1+deb12u2"),
]

# Full (benchmark) mode: everything above plus all other manpages-l10n
# languages, the development (section 2/3) translations, and English
# manual pages from other packages.  Versions: whatever apt offers.
FULL_EXTRA_PACKAGES = [
    "manpages-dev", "manpages-ja-dev", "manpages-tr",
    "manpages-de-dev", "manpages-fr-dev", "manpages-es-dev", "manpages-it-dev",
    "manpages-nl-dev", "manpages-pl-dev", "manpages-pt-br-dev",
    "manpages-ru-dev", "manpages-uk-dev", "manpages-cs-dev", "manpages-da-dev",
    "manpages-cs", "manpages-da", "manpages-el", "manpages-fi", "manpages-hu",
    "manpages-id", "manpages-mk", "manpages-nb", "manpages-ro", "manpages-sr",
    "manpages-sv", "manpages-vi",
    # English originals (several also carry translations)
    "login", "util-linux", "man-db", "psmisc", "sed", "diffutils", "less",
    "e2fsprogs", "bash", "systemd", "iproute2", "openssh-client", "sudo",
    "rsync",
]
# Large English-only documentation packages, used in full mode to reach the
# page count.  Their symlinked aliases (thousands of function names pointing
# to one page) are NOT served, only the real pages.
FULL_BULK_PACKAGES = [
    "freebsd-manpages", "gnutls-doc", "perl-doc", "libssl-doc", "git-man",
    "libcurl4-doc", "libxcb-doc", "ncurses-doc", "libx11-doc", "tcl8.6-doc",
    "tk8.6-doc", "erlang-manpages", "postgresql-client-15", "libmotif-dev",
    "netpbm", "libexplain-dev", "openmpi-doc", "libsystemd-dev",
    "liblapack-doc", "libbsd-dev",
]

# Never used (reserved for independent evaluation).
FORBIDDEN_PACKAGE_PATTERNS = [
    r"^installation-guide", r"^debian-reference", r"^debian-handbook$",
    r"^maint-guide", r"^developers-reference", r"^debian-faq", r"^apt($|-)",
    r"^dpkg($|-)", r"django", r"^iso-codes$",
]
# Pages of apt and dpkg (shipped e.g. in manpages-l10n or manpages-ja) are
# skipped as well.
FORBIDDEN_PAGE_RE = re.compile(
    r"^(apt|apt[-_.].*|sources\.list|dpkg|dpkg[-.].*|dselect(\.cfg)?|"
    r"start-stop-daemon|update-alternatives|deb|deb-(?!systemd).*|deb822|"
    r"debsig-verify)\.[0-9][^.]*$")

# man directory name -> (URL tag, hreflang / html lang, fastText lid.176
# code, autonym)
LANGS = {
    "en": ("en", "en", "en", "English"),
    "de": ("de", "de", "de", "Deutsch"),
    "fr": ("fr", "fr", "fr", "Français"),
    "es": ("es", "es", "es", "Español"),
    "it": ("it", "it", "it", "Italiano"),
    "nl": ("nl", "nl", "nl", "Nederlands"),
    "pl": ("pl", "pl", "pl", "Polski"),
    "pt_BR": ("pt-br", "pt-BR", "pt", "Português (Brasil)"),
    "pt": ("pt", "pt", "pt", "Português"),
    "ru": ("ru", "ru", "ru", "Русский"),
    "uk": ("uk", "uk", "uk", "Українська"),
    "ja": ("ja", "ja", "ja", "日本語"),
    "zh_CN": ("zh-cn", "zh-CN", "zh", "简体中文"),
    "zh_TW": ("zh-tw", "zh-TW", "zh", "繁體中文"),
    "ko": ("ko", "ko", "ko", "한국어"),
    "cs": ("cs", "cs", "cs", "Čeština"),
    "da": ("da", "da", "da", "Dansk"),
    "el": ("el", "el", "el", "Ελληνικά"),
    "fi": ("fi", "fi", "fi", "Suomi"),
    "hu": ("hu", "hu", "hu", "Magyar"),
    "hr": ("hr", "hr", "hr", "Hrvatski"),
    "id": ("id", "id", "id", "Bahasa Indonesia"),
    "mk": ("mk", "mk", "mk", "Македонски"),
    "nb": ("nb", "nb", "no", "Norsk bokmål"),
    "ro": ("ro", "ro", "ro", "Română"),
    "sr": ("sr", "sr", "sr", "Српски"),
    "sv": ("sv", "sv", "sv", "Svenska"),
    "tr": ("tr", "tr", "tr", "Türkçe"),
    "vi": ("vi", "vi", "vi", "Tiếng Việt"),
}
LANG_ORDER = list(LANGS)

# Site navigation strings (ours).  Languages not listed use English.
UI = {
    "en": ("Home", "Search", "About", "Languages", "Sections"),
    "de": ("Startseite", "Suche", "Über", "Sprachen", "Abschnitte"),
    "fr": ("Accueil", "Rechercher", "À propos", "Langues", "Sections"),
    "es": ("Inicio", "Buscar", "Acerca de", "Idiomas", "Secciones"),
    "it": ("Home", "Cerca", "Informazioni", "Lingue", "Sezioni"),
    "nl": ("Home", "Zoeken", "Over", "Talen", "Secties"),
    "pl": ("Strona główna", "Szukaj", "O serwisie", "Języki", "Sekcje"),
    "pt_BR": ("Início", "Pesquisar", "Sobre", "Idiomas", "Seções"),
    "ru": ("Главная", "Поиск", "О сайте", "Языки", "Разделы"),
    "uk": ("Головна", "Пошук", "Про сайт", "Мови", "Розділи"),
    "ja": ("ホーム", "検索", "このサイトについて", "言語", "セクション"),
    "zh_CN": ("首页", "搜索", "关于", "语言", "章节"),
    "zh_TW": ("首頁", "搜尋", "關於", "語言", "章節"),
}

# Small sample: languages, pages and deliberate aliases.
SMALL_LANGS = ["en", "de", "fr", "es", "it", "nl", "pl", "pt_BR", "ru", "uk",
               "ja", "zh_CN", "zh_TW"]
SMALL_PAGES = [
    "man1/intro.1", "man1/ls.1", "man1/cp.1", "man1/mv.1", "man1/rm.1",
    "man1/mkdir.1", "man1/rmdir.1", "man1/chmod.1", "man1/chown.1",
    "man1/cat.1", "man1/ln.1", "man1/df.1", "man1/du.1", "man1/touch.1",
    "man1/echo.1", "man1/date.1", "man1/sort.1", "man1/head.1", "man1/tail.1",
    "man1/wc.1", "man1/grep.1", "man1/find.1", "man1/tar.1", "man1/gzip.1",
    "man1/kill.1", "man1/ps.1", "man1/free.1", "man1/passwd.1",
    "man1/chsh.1", "man1/ldd.1", "man4/null.4", "man4/random.4",
    "man5/issue.5", "man5/motd.5",
    "man5/passwd.5", "man5/group.5", "man5/shells.5", "man5/shadow.5",
    "man5/hosts.5", "man5/services.5",
    "man7/hier.7", "man7/ascii.7", "man7/utf-8.7", "man7/unicode.7",
    "man7/uri.7", "man7/man.7", "man7/locale.7", "man7/charsets.7",
    "man8/useradd.8", "man8/groupadd.8",
]
# Traditional Chinese: only a handful of pages.
SMALL_LANG_PAGES = {
    "zh_TW": ["man1/ls.1", "man1/cp.1", "man1/mv.1", "man1/rm.1",
              "man1/mkdir.1", "man1/cat.1", "man1/grep.1", "man1/tar.1"],
}
# Alias pages (symlinks in the packages) served at their own URL: their main
# content is byte-identical to the page they point to.
SMALL_ALIASES = [
    ("en", "man1/egrep.1"), ("de", "man1/egrep.1"), ("es", "man1/egrep.1"),
    ("uk", "man1/egrep.1"), ("ja", "man1/egrep.1"),
    ("fr", "man1/fgrep.1"), ("pl", "man1/fgrep.1"),
    ("en", "man7/url.7"), ("fr", "man7/url.7"), ("ru", "man7/url.7"),
    ("en", "man1/zcat.1"), ("de", "man1/gunzip.1"), ("zh_CN", "man1/gunzip.1"),
]
# Legacy / inconsistent charsets (2-4 pages).  encoding: how the bytes are
# encoded; header: charset in the HTTP Content-Type; meta: charset declared in
# the HTML; meta_style: "charset" (<meta charset>) or "http-equiv".
CHARSET_TESTS = {
    ("ru", "man1", "ls.1"): dict(encoding="koi8-r", header="koi8-r",
                                 meta="koi8-r", meta_style="charset"),
    ("ru", "man1", "cat.1"): dict(encoding="windows-1251",
                                  header="windows-1251", meta="windows-1251",
                                  meta_style="http-equiv"),
    ("ja", "man1", "cp.1"): dict(encoding="utf-8", header="iso-8859-1",
                                 meta="utf-8", meta_style="charset"),
}
# Records that are not man pages (a real crawl has them too).
# The source record is the original gzip-compressed nroff file.
SRC_GZ_PAGE = ("de", "man1", "ls.1")

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def sha256_file(p):
    """Hex sha256 of a file (the gold builders record each package's)."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def is_forbidden_package(name):
    return any(re.search(p, name) for p in FORBIDDEN_PACKAGE_PATTERNS)


def ensure_mandoc():
    if shutil.which("mandoc"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("mandoc not found; installing the Debian package 'mandoc'")
        run(["apt-get", "install", "-y", "--no-install-recommends", "mandoc"],
            stdout=subprocess.DEVNULL)
        if shutil.which("mandoc"):
            return
    sys.exit("mandoc is required: run 'apt-get install mandoc' (as root)")


def pkg_version(name):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                             capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def deb_fields(path):
    out = subprocess.run(["dpkg-deb", "-f", path, "Package", "Version"],
                         capture_output=True, text=True, check=True).stdout
    f = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return f["Package"], f["Version"]


def download_packages(wanted, debdir):
    """wanted: list of (name, version or None).  Returns {name: (version, path)}."""
    os.makedirs(debdir, exist_ok=True)
    os.chmod(debdir, 0o777)  # let apt's _apt sandbox user write here

    def index():
        have = {}
        for p in sorted(glob.glob(os.path.join(debdir, "*.deb"))):
            try:
                n, v = deb_fields(p)
            except subprocess.CalledProcessError:
                continue
            have.setdefault(n, {})[v] = p
        return have

    for name, _ in wanted:
        if is_forbidden_package(name):
            sys.exit("refusing to use reserved package %s" % name)
    have = index()
    missing = [(n, v) for n, v in wanted
               if not (n in have and (v is None or v in have[n]))]
    updated = False
    for n, v in missing:
        spec = n if v is None else "%s=%s" % (n, v)
        for attempt in range(3):
            r = subprocess.run(["apt-get", "download", "-q", spec], cwd=debdir,
                               capture_output=True, text=True)
            if r.returncode == 0:
                break
            if not updated and os.geteuid() == 0:
                log("apt-get download %s failed; running apt-get update" % spec)
                subprocess.run(["apt-get", "update", "-q"],
                               stdout=subprocess.DEVNULL)
                updated = True
                continue
            if v is not None and spec != n:
                log("WARNING: %s is not available (%s); using the current "
                    "candidate instead -- the output will not be identical "
                    "to the committed sample" % (spec, r.stderr.strip()[-200:]))
                spec = n
                continue
            sys.exit("apt-get download %s failed:\n%s" % (spec, r.stderr))
    have = index()
    result = {}
    for n, v in wanted:
        if n not in have:
            sys.exit("package %s missing after download" % n)
        if v is not None and v in have[n]:
            result[n] = (v, have[n][v])
        else:  # newest available file
            vs = sorted(have[n], key=_debver_key)
            result[n] = (vs[-1], have[n][vs[-1]])
    return result


def _debver_key(v):
    # good enough for picking the newest of a few local files
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", v)]


def extract_packages(pkgs, rootdir):
    """dpkg -x every package into rootdir/<name>.  Returns {name: dir}."""
    dirs = {}
    for name, (ver, path) in pkgs.items():
        d = os.path.join(rootdir, name)
        stamp = os.path.join(d, ".extracted-version")
        if os.path.exists(stamp) and open(stamp).read() == ver:
            dirs[name] = d
            continue
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        run(["dpkg", "-x", path, d])
        with open(stamp, "w") as f:
            f.write(ver)
        dirs[name] = d
    return dirs


# --------------------------------------------------------------------------
# Index of manual pages
# --------------------------------------------------------------------------

class Entry:
    __slots__ = ("pkg", "path", "link", "lang", "secdir", "name")

    def __init__(self, pkg, path, link, lang, secdir, name):
        self.pkg, self.path, self.link = pkg, path, link
        self.lang, self.secdir, self.name = lang, secdir, name


def _strip_comp(fn):
    for ext in (".gz", ".bz2", ".xz"):
        if fn.endswith(ext):
            return fn[: -len(ext)]
    return fn


def read_source(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    elif path.endswith(".xz"):
        import lzma
        data = lzma.decompress(data)
    elif path.endswith(".bz2"):
        import bz2
        data = bz2.decompress(data)
    return data


def build_index(pkg_order, dirs):
    """{(lang, secdir, name): Entry}, first package in pkg_order wins."""
    index = {}
    for pkg in pkg_order:
        base = os.path.join(dirs[pkg], "usr", "share", "man")
        if not os.path.isdir(base):
            continue
        for root, dnames, fnames in os.walk(base):
            dnames.sort()
            rel = os.path.relpath(root, base).split(os.sep)
            if len(rel) == 1 and rel[0].startswith("man"):
                lang, secdir = "en", rel[0]
            elif len(rel) == 2 and rel[1].startswith("man"):
                lang, secdir = rel[0], rel[1]
            else:
                continue
            if lang not in LANGS:
                continue
            for fn in sorted(fnames):
                name = _strip_comp(fn)
                if "." not in name or FORBIDDEN_PAGE_RE.match(name):
                    continue
                key = (lang, secdir, name)
                if key in index:
                    continue
                p = os.path.join(root, fn)
                index[key] = Entry(pkg, p, os.path.islink(p), lang, secdir,
                                   name)
    return index


_SO_RE = re.compile(rb"^\.so\s+(\S+)\s*$")


def _so_target(data):
    """If the page is only a `.so` stub, return the included path."""
    lines = [l for l in data.splitlines()
             if l.strip() and not l.startswith((b'.\\"', b"'\\\"", b'.\\\\"'))]
    if len(lines) == 1:
        m = _SO_RE.match(lines[0].strip())
        if m:
            return m.group(1).decode("utf-8", "replace")
    return None


def _key_from_manrel(lang, rel):
    """rel: path relative to the language's man root, e.g. man3/foo.3.gz"""
    rel = os.path.normpath(rel)
    parts = rel.split(os.sep)
    if len(parts) == 3 and parts[0] == lang:  # "../de/man1/x" style, rare
        parts = parts[1:]
    if len(parts) != 2:
        return None
    return (lang, parts[0], _strip_comp(parts[1]))


def resolve(index, key, depth=0):
    """Follow symlinks and .so stubs; return the key of the real page."""
    e = index.get(key)
    if e is None or depth > 8:
        return None
    lang = e.lang
    if e.link:
        target = os.readlink(e.path)
        if target.startswith("/"):
            prefix = "/usr/share/man/" + ("" if lang == "en" else lang + "/")
            if not target.startswith(prefix):
                return None
            rel = target[len(prefix):]
        else:
            rel = os.path.join(e.secdir, target)
        k2 = _key_from_manrel(lang, rel)
        return resolve(index, k2, depth + 1) if k2 else None
    if not os.path.isfile(e.path):
        return None
    data = read_source(e.path)
    so = _so_target(data)
    if so is not None:
        k2 = _key_from_manrel(lang, so)
        return resolve(index, k2, depth + 1) if k2 else None
    return key


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

_OVERSTRIKE_RE = re.compile(r".\x08")
_NCR_RE = re.compile(r"&#x([0-9A-Fa-f]+);")
_MDOCDATE_RE = re.compile(rb"^\.Dd\s+\$Mdocdate\$[ \t]*$", re.M)


def _ncr_to_char(m):
    cp = int(m.group(1), 16)
    if cp < 0xA0 or 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF \
            or (cp & 0xFFFE) == 0xFFFE:
        return m.group(0)
    return chr(cp)


def normalise_text(t):
    """mandoc -Tutf8 output -> plain text (gold)."""
    t = _OVERSTRIKE_RE.sub("", t)
    t = _OVERSTRIKE_RE.sub("", t)  # bold+underline overstrike
    out, blank = [], False
    for line in t.splitlines():
        line = re.sub(r"[ \t]+", " ", line.strip())
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out)


def render_page(args):
    """Worker: (key, path, mandir) -> (key, html_fragment, text) or error."""
    key, path, mandir, lang_tag = args
    data = read_source(path)
    # `.Dd $Mdocdate$` without a date makes mandoc print *today's* date.
    data = _MDOCDATE_RE.sub(b".Dd", data)
    env = dict(os.environ, LC_ALL="C.UTF-8")
    common = ["mandoc", "-Ios=Debian"]
    try:
        h = subprocess.run(
            common + ["-Thtml", "-Ofragment,man=/%s/man%%S/%%N.%%S.html"
                      % lang_tag],
            input=data, capture_output=True, cwd=mandir, env=env, timeout=120)
        t = subprocess.run(common + ["-Tutf8", "-Owidth=1000"], input=data,
                           capture_output=True, cwd=mandir, env=env,
                           timeout=120)
    except subprocess.TimeoutExpired:
        return key, None, None
    frag = h.stdout.decode("utf-8", "replace")
    frag = _NCR_RE.sub(_ncr_to_char, frag).strip()
    text = normalise_text(t.stdout.decode("utf-8", "replace"))
    return key, frag, text


def page_title(text, name):
    """'ls(1) — list directory contents' from the NAME section."""
    base, sec = name.rsplit(".", 1)
    lines = text.split("\n")
    desc = ""
    # lines[0] is the page header; the first heading follows, then NAME text
    for i in range(1, len(lines) - 1):
        if lines[i] and i + 1 < len(lines) and lines[i + 1]:
            desc = lines[i + 1]
            break
    for sep in (" - ", " – ", " — ", " -- ", " \u2010 ", " − "):
        if sep in desc:
            desc = desc.split(sep, 1)[1]
            break
    desc = desc.strip()
    if len(desc) > 120:
        desc = desc[:117].rstrip() + "…"
    t = "%s(%s)" % (base, sec)
    return t + " — " + desc if desc else t


# --------------------------------------------------------------------------
# Site
# --------------------------------------------------------------------------

def page_path(key):
    lang, secdir, name = key
    q = urllib.parse.quote(name, safe="-._~+:@")
    return "/%s/%s/%s.html" % (LANGS[lang][0], secdir, q)


SITE_CSS = """\
/* manpages.example.org site stylesheet */
body { margin: 0; font-family: system-ui, sans-serif; color: #222; }
.site-header { display: flex; align-items: center; gap: 1.5em;
  padding: .6em 1.2em; background: #23395b; color: #fff; }
.site-header a { color: #fff; text-decoration: none; }
.brand { font-weight: bold; font-size: 1.15em; }
.main-nav ul, .lang-switch ul { list-style: none; margin: 0; padding: 0;
  display: flex; flex-wrap: wrap; gap: .8em; }
.search input { padding: .2em .4em; }
.breadcrumbs { padding: .4em 1.2em; font-size: .9em; color: #555; }
.lang-switch { padding: .4em 1.2em; font-size: .85em; border-bottom: 1px solid #ddd; }
main { max-width: 60em; padding: 1em 1.2em; }
table.head, table.foot { width: 100%; }
td.head-rtitle, td.foot-os { text-align: right; }
td.head-vol { text-align: center; }
.Nd, .Bf, .Op { display: inline; }
.Pa, .Ad { font-style: italic; }
.Ms { font-weight: bold; }
.Bl-diag > dt { font-weight: bold; }
code.Nm, .Fl, .Cm, .Ic, code.In, .Fd, .Fn, .Cd { font-weight: bold;
  font-family: inherit; }
a.permalink { color: inherit; text-decoration: none; }
.site-footer { margin-top: 2em; padding: 1em 1.2em; font-size: .8em;
  color: #555; border-top: 1px solid #ddd; }
"""

ROBOTS_TXT = """\
# robots.txt for manpages.example.org
User-agent: *
Disallow: /search
Disallow: /cgi-bin/

User-agent: BadBot
Disallow: /

Sitemap: https://manpages.example.org/sitemap.xml
"""


def make_png(w=32, h=32):
    """A small deterministic PNG logo (ours): dark blue square, light stripe."""
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            if 12 <= y < 20:
                row += bytes((0xE8, 0xEE, 0xF6))
            else:
                row += bytes((0x23, 0x39, 0x5B))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d
                + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def nginx_error(code, reason):
    return ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
            "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n" % (code, reason, code, reason)).encode()


def render_html(key, page, alternates, charset_meta="utf-8",
                meta_style="charset", not_found=False):
    lang = key[0]
    tag, hl, _, _ = LANGS[lang]
    home, search, about, langs_label, sections = UI.get(lang, UI["en"])
    e = html.escape
    url = SITE + page_path(key)
    out = ["<!DOCTYPE html>", '<html lang="%s">' % hl, "<head>"]
    if meta_style == "http-equiv":
        out.append('<meta http-equiv="Content-Type" content="text/html; '
                   'charset=%s">' % charset_meta)
    else:
        out.append('<meta charset="%s">' % charset_meta)
    out.append('<meta name="viewport" content="width=device-width, '
               'initial-scale=1">')
    out.append("<title>%s | %s</title>" % (e(page["title"]), SITE_NAME))
    if not not_found:
        out.append('<meta name="description" content="%s">'
                   % e(page["title"], quote=True))
        out.append('<link rel="canonical" href="%s">' % e(url))
        for akey in alternates:
            out.append('<link rel="alternate" hreflang="%s" href="%s">'
                       % (LANGS[akey[0]][1], e(SITE + page_path(akey))))
        en = [k for k in alternates if k[0] == "en"]
        if en:
            out.append('<link rel="alternate" hreflang="x-default" href="%s">'
                       % e(SITE + page_path(en[0])))
    out.append('<link rel="stylesheet" href="/static/site.css">')
    out.append('<link rel="icon" type="image/png" href="/static/logo.png">')
    out.append("</head>")
    out.append("<body>")
    out.append('<header class="site-header">')
    out.append('<a class="brand" href="/%s/"><img src="/static/logo.png" '
               'alt="" width="16" height="16"> %s</a>' % (tag, SITE_NAME))
    out.append('<nav class="main-nav" aria-label="%s"><ul>' % e(sections))
    out.append('<li><a href="/%s/">%s</a></li>' % (tag, e(home)))
    for s in ("1", "2", "3", "4", "5", "6", "7", "8"):
        out.append('<li><a href="/%s/man%s/">%s</a></li>' % (tag, s, s))
    out.append('<li><a href="/%s/about.html">%s</a></li>' % (tag, e(about)))
    out.append("</ul></nav>")
    out.append('<form class="search" action="/search" method="get" '
               'role="search"><input type="hidden" name="lang" value="%s">'
               '<input type="search" name="q" placeholder="%s" '
               'aria-label="%s"></form>' % (tag, e(search), e(search)))
    out.append("</header>")
    if not not_found:
        base, sec = key[2].rsplit(".", 1)
        out.append('<nav class="breadcrumbs"><a href="/%s/">%s</a> › '
                   '<a href="/%s/%s/">%s</a> › %s(%s)</nav>'
                   % (tag, e(home), tag, key[1], key[1], e(base), e(sec)))
        if len(alternates) > 1:
            out.append('<aside class="lang-switch"><span>%s:</span> <ul>'
                       % e(langs_label))
            for akey in alternates:
                atag, ahl, _, aname = LANGS[akey[0]]
                if akey == key:
                    out.append('<li><strong lang="%s">%s</strong></li>'
                               % (ahl, e(aname)))
                else:
                    out.append('<li><a href="%s" hreflang="%s" lang="%s">%s'
                               '</a></li>' % (e(page_path(akey)), ahl, ahl,
                                              e(aname)))
            out.append("</ul></aside>")
    out.append('<main id="content">')
    out.append('<article class="manpage">')
    out.append(page["html"])
    out.append("</article>")
    out.append("</main>")
    out.append('<footer class="site-footer">')
    if not not_found:
        out.append("<p>Source: Debian package <code>%s</code> %s, file "
                   "<code>%s</code>. Rendered with mandoc. The manual page "
                   "text is © its authors and translators and is distributed "
                   "under the licence(s) given in the package&#39;s "
                   "copyright file.</p>" % (e(page["pkg"]),
                                            e(page["pkgver"]),
                                            e(page["srcfile"])))
    out.append('<p>%s is an unofficial demonstration mirror. '
               '<a href="/%s/about.html">%s</a> · '
               '<a href="/privacy.html">Privacy</a> · '
               '<a href="/sitemap.xml">Sitemap</a></p>'
               % (SITE_NAME, tag, e(about)))
    out.append("</footer>")
    out.append("</body>")
    out.append("</html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Corpus assembly
# --------------------------------------------------------------------------

def select_keys(index, full):
    """Return sorted list of (key, source_key) to serve."""
    selected = {}
    if full:
        bulk = set(FULL_BULK_PACKAGES)
        seen_bulk = set()
        for key in sorted(index):
            e = index[key]
            if e.pkg in bulk and e.link:
                continue
            src = resolve(index, key)
            if src is None:
                continue
            if e.pkg in bulk:
                # also skip byte-identical copies (freebsd-manpages ships
                # thousands of copies instead of links)
                h = hashlib.sha1(read_source(index[src].path)).digest()
                if h in seen_bulk:
                    continue
                seen_bulk.add(h)
            selected[key] = src
    else:
        for lang in SMALL_LANGS:
            for rel in SMALL_LANG_PAGES.get(lang, SMALL_PAGES):
                secdir, name = rel.split("/")
                key = (lang, secdir, name)
                if key in index and resolve(index, key) == key:
                    selected[key] = key
        for lang, rel in SMALL_ALIASES:
            secdir, name = rel.split("/")
            key = (lang, secdir, name)
            src = resolve(index, key)
            if src is None or src == key:
                sys.exit("alias %s does not resolve to another page" % (key,))
            if src not in selected:
                sys.exit("alias %s: target %s is not in the sample"
                         % (key, src))
            selected[key] = src
    order = {l: i for i, l in enumerate(LANG_ORDER)}
    # crawl order: per language the real pages first, then the aliases
    keys = sorted(selected, key=lambda k: (order[k[0]], selected[k] != k,
                                           k[1], k[2]))
    return [(k, selected[k]) for k in keys]


def render_all(index, dirs, pairs, pkgvers, jobs):
    sources = sorted({src for _, src in pairs},
                     key=lambda k: (LANG_ORDER.index(k[0]), k[1], k[2]))
    tasks = []
    for src in sources:
        e = index[src]
        base = os.path.join(dirs[e.pkg], "usr", "share", "man")
        mandir = base if e.lang == "en" else os.path.join(base, e.lang)
        tasks.append((src, e.path, mandir, LANGS[e.lang][0]))
    rendered = {}
    t0 = time.time()
    if jobs > 1 and len(tasks) > 50:
        with multiprocessing.Pool(jobs) as pool:
            it = pool.imap(render_page, tasks, chunksize=16)
            for i, (k, frag, text) in enumerate(it):
                rendered[k] = (zlib.compress(frag.encode(), 1) if frag else None,
                               text)
                if (i + 1) % 2000 == 0:
                    log("  rendered %d/%d (%.0fs)" % (i + 1, len(tasks),
                                                      time.time() - t0))
    else:
        for t in tasks:
            k, frag, text = render_page(t)
            rendered[k] = (zlib.compress(frag.encode(), 1) if frag else None,
                           text)
    return rendered


_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")
# Small sample: leave out translations whose text is mostly still English
# (outdated translations fall back to the English paragraphs).
MAX_UNTRANSLATED = 0.3


def untranslated_shares(pairs, rendered):
    """Share of a translated page's text made of paragraphs that occur
    verbatim in the English version of the same page (None: no English)."""
    en_paras = {}
    for key, src in pairs:
        if key[0] == "en":
            t = rendered.get(src, (None, None))[1]
            if t:
                en_paras[(key[1], key[2])] = {
                    l for l in t.split("\n") if len(l) >= 40
                    and len(_LATIN_WORD_RE.findall(l)) >= 5}
    shares = {}
    for key, src in pairs:
        t = rendered.get(src, (None, None))[1]
        ep = en_paras.get((key[1], key[2]))
        if key[0] == "en" or not t or ep is None:
            continue
        lines = t.split("\n")
        total = sum(len(l) for l in lines) or 1
        shares[key] = round(sum(len(l) for l in lines if l in ep) / total, 2)
    return shares


def drop_untranslated(pairs, shares, limit):
    drop = {k for k, v in shares.items() if v > limit}
    kept = [(k, s) for k, s in pairs if k not in drop and s not in drop]
    return kept, sorted(drop)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(dt):
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
              "Oct", "Nov", "Dec"]
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        days[dt.weekday()], dt.day, months[dt.month - 1], dt.year, dt.hour,
        dt.minute, dt.second)


class Fetch:
    """One request/response pair of the simulated crawl."""
    __slots__ = ("url", "status", "reason", "ctype", "body", "extra_headers",
                 "page")

    def __init__(self, url, status, reason, ctype, body, extra_headers=(),
                 page=None):
        self.url, self.status, self.reason = url, status, reason
        self.ctype, self.body, self.extra_headers = ctype, body, extra_headers
        self.page = page


def build_fetches(index, dirs, pairs, rendered, pkgvers, shares):
    """Yield Fetch objects in crawl order and collect gold lines."""
    # group alternates by (secdir, name)
    groups = collections.defaultdict(list)
    for key, _ in pairs:
        groups[(key[1], key[2])].append(key)
    gold = []
    seen_hash = {}
    fetches_pre, fetches_post = [], []
    page_urls = []

    fetches_pre.append(Fetch(SITE + "/robots.txt", 200, "OK",
                             "text/plain; charset=utf-8",
                             ROBOTS_TXT.encode()))
    first = pairs[0][0]
    redirect_key = ("en", "man1", "ls.1") if ("en", "man1", "ls.1") in \
        dict(pairs) else first
    fetches_pre.append(Fetch(
        "http://%s%s" % (SITE_HOST, page_path(redirect_key)), 301,
        "Moved Permanently", "text/html", nginx_error(301, "Moved Permanently"),
        (("Location", SITE + page_path(redirect_key)),)))
    fetches_pre.append(Fetch(SITE + "/static/site.css", 200, "OK",
                             "text/css", SITE_CSS.encode()))
    fetches_pre.append(Fetch(SITE + "/static/logo.png", 200, "OK",
                             "image/png", make_png()))

    def page_fetches():
        for key, src in pairs:
            frag_z, text = rendered.get(src, (None, None))
            if not frag_z or not text:
                continue
            frag = zlib.decompress(frag_z).decode()
            e = index[key]
            se = index[src]
            title = page_title(text, key[2])
            alts = [k for k in groups[(key[1], key[2])]
                    if rendered.get(dict_pairs[k], (None, None))[1]]
            cs = CHARSET_TESTS.get(key, dict(encoding="utf-8", header="utf-8",
                                             meta="utf-8",
                                             meta_style="charset"))
            srcfile = os.path.relpath(se.path, dirs[se.pkg])
            page = dict(title=title, html=frag, pkg=se.pkg,
                        pkgver=pkgvers[se.pkg], srcfile="/" + srcfile)
            doc = render_html(key, page, alts, charset_meta=cs["meta"],
                              meta_style=cs["meta_style"])
            body = doc.encode(cs["encoding"], errors="xmlcharrefreplace")
            url = SITE + page_path(key)
            h = hashlib.sha1(frag.encode()).hexdigest()
            dup = seen_hash.get(h)
            if dup is None:
                seen_hash[h] = url
            lang = key[0]
            g = collections.OrderedDict()
            g["url"] = url
            g["lang"] = LANGS[lang][2]
            g["title"] = title
            g["text"] = text
            g["duplicate_of"] = dup
            g["locale"] = LANGS[lang][1]
            g["package"] = se.pkg
            g["source"] = "/" + srcfile
            g["untranslated_share"] = shares.get(key)
            g["charset"] = cs["encoding"]
            if cs["header"] != cs["encoding"]:
                g["http_charset"] = cs["header"]
            gold.append(g)
            page_urls.append(url)
            yield Fetch(url, 200, "OK", "text/html; charset=%s" % cs["header"],
                        body, (("Content-Language", LANGS[lang][1]),),
                        page=True)

    dict_pairs = dict(pairs)

    # after the pages: a legacy URL redirect, a 404, the nroff source
    lk = SRC_GZ_PAGE if SRC_GZ_PAGE in dict_pairs else first
    legacy = SITE + page_path(lk)[: -len(".html")]
    fetches_post.append(Fetch(legacy, 301, "Moved Permanently", "text/html",
                              nginx_error(301, "Moved Permanently"),
                              (("Location", SITE + page_path(lk)),)))
    nf_key = ("en", "man1", "lss.1")
    nf_page = dict(title="404 — Page not found",
                   html="<h1>Page not found</h1>\n<p>The manual page "
                        "<code>lss(1)</code> does not exist. Try the "
                        "<a href=\"/search\">search</a>.</p>",
                   pkg="", pkgver="", srcfile="")
    fetches_post.append(Fetch(
        SITE + page_path(nf_key), 404, "Not Found",
        "text/html; charset=utf-8",
        render_html(nf_key, nf_page, [], not_found=True).encode()))
    se = index[dict_pairs[lk]]
    with open(se.path, "rb") as f:
        raw = f.read()
    src_rel = os.path.relpath(se.path, os.path.join(dirs[se.pkg], "usr",
                                                    "share", "man"))
    fetches_post.append(Fetch(SITE + "/src/" + src_rel, 200, "OK",
                              "application/gzip", raw))

    def all_fetches():
        yield from fetches_pre
        yield from page_fetches()
        # sitemap last: it lists every page served
        yield from fetches_post
        sm = ['<?xml version="1.0" encoding="UTF-8"?>',
              '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lm = LAST_MODIFIED.strftime("%Y-%m-%d")
        for u in page_urls:
            sm.append("<url><loc>%s</loc><lastmod>%s</lastmod></url>"
                      % (html.escape(u), lm))
        sm.append("</urlset>")
        yield Fetch(SITE + "/sitemap.xml", 200, "OK", "application/xml",
                    ("\n".join(sm) + "\n").encode())

    return all_fetches(), gold


def record_id(kind, url):
    return "<urn:uuid:%s>" % uuid.uuid5(uuid.NAMESPACE_URL, kind + " " + url)


def write_warc(path, fetches, info_fields, site_dir=None):
    from warcio.warcwriter import WARCWriter
    from warcio.statusandheaders import StatusAndHeaders

    tmp = path + ".tmp"
    n = 0
    with open(tmp, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        info = "".join("%s: %s\r\n" % kv for kv in info_fields).encode()
        fname = os.path.basename(path)
        rec = writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(info), length=len(info),
            warc_content_type="application/warc-fields",
            warc_headers_dict=collections.OrderedDict([
                ("WARC-Record-ID", record_id("warcinfo", fname)),
                ("WARC-Date", iso(CRAWL_START)),
                ("WARC-Filename", fname)]))
        writer.write_record(rec)
        for i, f in enumerate(fetches):
            dt = CRAWL_START + datetime.timedelta(seconds=2 * i + 1)
            u = urllib.parse.urlsplit(f.url)
            target = u.path + ("?" + u.query if u.query else "")
            req_h = StatusAndHeaders("GET %s HTTP/1.1" % target, [
                ("Host", u.netloc),
                ("User-Agent", USER_AGENT),
                ("Accept", "text/html,application/xhtml+xml,application/xml;"
                           "q=0.9,*/*;q=0.8"),
                ("Accept-Language", "en;q=0.9, *;q=0.5"),
                ("Connection", "close")], is_http_request=True)
            resp_hdrs = [("Server", "nginx"), ("Date", http_date(dt)),
                         ("Content-Type", f.ctype),
                         ("Content-Length", str(len(f.body)))]
            if f.status == 200:
                resp_hdrs.append(("Last-Modified", http_date(LAST_MODIFIED)))
                resp_hdrs.append(("ETag", '"%x-%x"' % (
                    int((LAST_MODIFIED - datetime.datetime(1970, 1, 1))
                        .total_seconds()), len(f.body))))
            resp_hdrs.extend(f.extra_headers)
            resp_hdrs.append(("Connection", "close"))
            resp_h = StatusAndHeaders("%d %s" % (f.status, f.reason),
                                      resp_hdrs, protocol="HTTP/1.1")
            resp_id = record_id("response", f.url)
            req = writer.create_warc_record(
                f.url, "request", payload=io.BytesIO(b""), length=0,
                http_headers=req_h,
                warc_headers_dict=collections.OrderedDict([
                    ("WARC-Record-ID", record_id("request", f.url)),
                    ("WARC-Date", iso(dt)),
                    ("WARC-Concurrent-To", resp_id)]))
            resp = writer.create_warc_record(
                f.url, "response", payload=io.BytesIO(f.body),
                length=len(f.body), http_headers=resp_h,
                warc_headers_dict=collections.OrderedDict([
                    ("WARC-Record-ID", resp_id),
                    ("WARC-Date", iso(dt)),
                    ("WARC-IP-Address", SERVER_IP)]))
            writer.write_record(req)
            writer.write_record(resp)
            n += 1
            if site_dir and f.status == 200:
                write_site_file(site_dir, u.path, f.body)
    os.replace(tmp, path)
    return n


def write_site_file(site_dir, urlpath, body):
    rel = urllib.parse.unquote(urlpath).lstrip("/")
    p = os.path.join(site_dir, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(body)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

SCRIPT_RANGES = {
    "ru": (0x0400, 0x04FF), "uk": (0x0400, 0x04FF), "mk": (0x0400, 0x04FF),
    "sr": (0x0400, 0x04FF), "el": (0x0370, 0x03FF), "ko": (0xAC00, 0xD7AF),
    "ja": (0x3040, 0x9FFF), "zh": (0x4E00, 0x9FFF),
}


def verify(warc_path, gold_path):
    from warcio.archiveiterator import ArchiveIterator as WIter
    ok = True
    size = os.path.getsize(warc_path)
    opener = gzip.open if gold_path.endswith(".gz") else open
    with opener(gold_path, "rt", encoding="utf-8") as f:
        gold = [json.loads(l) for l in f]
    gold_urls = {g["url"]: g for g in gold}
    print("file: %s  %.2f MB" % (warc_path, size / 1e6))

    # warcio
    types = collections.Counter()
    statuses = collections.Counter()
    html_pages = {}
    with open(warc_path, "rb") as f:
        for r in WIter(f):
            types[r.rec_type] += 1
            if r.rec_type == "response":
                st = r.http_headers.get_statuscode()
                ct = r.http_headers.get_header("Content-Type")
                statuses[(st, ct.split(";")[0])] += 1
                body = r.content_stream().read()
                if int(r.http_headers.get_header("Content-Length")) != len(body):
                    print("  content-length mismatch", r.rec_headers.get_header(
                        "WARC-Target-URI"))
                    ok = False
                if not r.rec_headers.get_header("WARC-Payload-Digest"):
                    ok = False
                if st == "200" and ct.startswith("text/html"):
                    html_pages[r.rec_headers.get_header("WARC-Target-URI")] = ct
    print("warcio: records", dict(types))
    print("warcio: responses by (status, type)",
          {"%s %s" % k: v for k, v in sorted(statuses.items())})
    # fastwarc
    try:
        from fastwarc.warc import ArchiveIterator as FIter, WarcRecordType
        n = collections.Counter()
        bad_digest = 0
        with open(warc_path, "rb") as f:
            for r in FIter(f, parse_http=False):
                n[str(r.record_type).split(".")[-1]] += 1
                if not r.verify_block_digest():
                    bad_digest += 1
        with open(warc_path, "rb") as f:
            for r in FIter(f, parse_http=True,
                           record_types=WarcRecordType.response):
                if not r.verify_payload_digest():
                    bad_digest += 1
        if bad_digest:
            print("  fastwarc: %d records with a bad digest" % bad_digest)
            ok = False
        print("fastwarc: records", dict(n))
        if sum(n.values()) != sum(types.values()):
            print("  fastwarc/warcio record count mismatch")
            ok = False
    except ImportError:
        print("fastwarc not installed; skipped")

    missing = set(html_pages) - set(gold_urls)
    extra = set(gold_urls) - set(html_pages)
    if missing or extra:
        print("gold/WARC mismatch: %d pages without gold, %d gold without page"
              % (len(missing), len(extra)))
        ok = False
    per_lang = collections.Counter(g["lang"] for g in gold)
    per_locale = collections.Counter(g["locale"] for g in gold)
    dups = [g for g in gold if g["duplicate_of"]]
    print("gold: %d pages, %d duplicates, %d languages"
          % (len(gold), len(dups), len(per_lang)))
    print("  per lang:", dict(sorted(per_lang.items(), key=lambda x: -x[1])))
    print("  per locale:", dict(per_locale))
    empty = [g["url"] for g in gold if len(g["text"]) < 100]
    if empty:
        print("  short/empty texts:", empty[:10])
        ok = False
    weak = []
    for g in gold:
        rng = SCRIPT_RANGES.get(g["lang"])
        if rng:
            letters = [c for c in g["text"] if c.isalpha()]
            share = sum(rng[0] <= ord(c) <= rng[1] for c in letters) / max(
                1, len(letters))
            if share < 0.2:
                weak.append((g["url"], round(share, 2)))
    if weak:
        print("  pages with little text in the expected script: %d, e.g. %s"
              % (len(weak), weak[:5]))
    print("RESULT:", "OK" if ok else "PROBLEMS")
    return ok


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "sample.warc.gz"),
                    help="small sample WARC (default: %(default)s)")
    ap.add_argument("--gold", default=None,
                    help="gold JSONL (default: sample/gold.jsonl.gz, or "
                         "<full>.gold.jsonl.gz in --full mode)")
    ap.add_argument("--full", metavar="OUT.warc.gz",
                    help="write the large benchmark corpus instead")
    ap.add_argument("--site", metavar="DIR",
                    help="also write the served files as a static website")
    ap.add_argument("--work", default="/tmp/polycorp-sample-work",
                    help="download/extract directory (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--verify", metavar="WARC",
                    help="only verify an existing WARC against --gold")
    a = ap.parse_args()

    if a.verify:
        gold = a.gold or os.path.join(HERE, "gold.jsonl.gz")
        sys.exit(0 if verify(a.verify, gold) else 1)

    full = bool(a.full)
    out = a.full if full else a.out
    gold_path = a.gold or (re.sub(r"(\.warc)?(\.gz)?$", "", out)
                           + ".gold.jsonl.gz" if full
                           else os.path.join(HERE, "gold.jsonl.gz"))
    t0 = time.time()
    ensure_mandoc()
    wanted = list(SMALL_PACKAGES)
    if full:
        wanted += [(p, None) for p in FULL_EXTRA_PACKAGES + FULL_BULK_PACKAGES]
    log("downloading %d packages into %s" % (len(wanted), a.work))
    pkgs = download_packages(wanted, os.path.join(a.work, "debs"))
    dirs = extract_packages(pkgs, os.path.join(a.work, "root"))
    pkgvers = {n: v for n, (v, _) in pkgs.items()}
    order = [n for n, _ in wanted]
    index = build_index(order, dirs)
    pairs = select_keys(index, full)
    log("%d pages selected (%d distinct sources); rendering with mandoc"
        % (len(pairs), len({s for _, s in pairs})))
    rendered = render_all(index, dirs, pairs, pkgvers, a.jobs)
    shares = untranslated_shares(pairs, rendered)
    if not full:
        pairs, dropped = drop_untranslated(pairs, shares, MAX_UNTRANSLATED)
        log("left out %d mostly untranslated pages: %s" % (
            len(dropped), " ".join("%s/%s" % (k[0], k[2]) for k in dropped)))

    used = sorted({index[s].pkg for _, s in pairs}, key=order.index)
    info = [
        ("software", "polycorp sample/make_sample.py (warcio)"),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", "https://iipc.github.io/warc-specifications/"
                       "specifications/warc-format/warc-1.1/"),
        ("isPartOf", "polycorp-sample-full" if full else "polycorp-sample"),
        ("description", "Simulated crawl of %s: Debian manual pages "
                        "(translations and originals) rendered with mandoc "
                        "in a site template." % SITE),
        ("robots", "obey"),
        ("http-header-user-agent", USER_AGENT),
        ("renderer", "mandoc %s" % pkg_version("mandoc")),
        ("source-packages", ", ".join("%s %s" % (p, pkgvers[p])
                                      for p in used)),
    ]
    if a.site:
        os.makedirs(a.site, exist_ok=True)
    fetches, gold = build_fetches(index, dirs, pairs, rendered, pkgvers,
                                  shares)
    n = write_warc(out, fetches, info, site_dir=a.site)
    with open(gold_path + ".tmp", "wb") as raw:
        f = (gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="")
             if gold_path.endswith(".gz") else raw)
        for g in gold:
            f.write((json.dumps(g, ensure_ascii=False) + "\n").encode())
        if f is not raw:
            f.close()
    os.replace(gold_path + ".tmp", gold_path)
    dups = sum(1 for g in gold if g["duplicate_of"])
    per_lang = collections.Counter(g["locale"] for g in gold)
    log("wrote %s: %d fetches, %d HTML pages (%d duplicates), %.2f MB, "
        "%.0fs" % (out, n, len(gold), dups, os.path.getsize(out) / 1e6,
                   time.time() - t0))
    log("pages per locale: %s" % dict(per_lang))
    log("gold: %s" % gold_path)


if __name__ == "__main__":
    main()
