#!/usr/bin/env python3
"""Build gold data for bitext alignment from real translated text shipped by
Debian: paragraph ("unit") alignment from GNU gettext catalogues, and
document alignment from translated manual pages.

Usage (needs dpkg-deb and mandoc; a few minutes on one core, downloads about
100 MB into the cache the first time)::

    .venv/bin/python benchmarks/bitext/make_gold.py [--work DIR]

writes

    benchmarks/bitext/gold/units-dev.jsonl.gz      unit (paragraph) alignment
    benchmarks/bitext/gold/units-heldout.jsonl.gz
    benchmarks/bitext/gold/docs-dev.jsonl.gz       document alignment
    benchmarks/bitext/gold/docs-heldout.jsonl.gz
    benchmarks/bitext/gold/manifest.json           packages, counts, licences
    tests/data/bitext-dev.jsonl.gz                 small dev subsets
    tests/data/bitext-docs-dev.jsonl.gz

and prints the count tables of README.md.  The cache (default
benchmarks/work/bitext, git-ignored) keeps the .debs, the upstream source
tarballs (only their .pot files are read) and the unpacked trees.

Everything is pinned (package versions and sha256 of every download), all
random choices use random.Random seeded with strings, iteration is sorted and
gzip members have mtime 0, so reruns are byte-identical (with mandoc 1.14.6
of Debian 12).  See README.md for the construction rules.

Never used (reserved for independent evaluation): apt, dpkg, Django and
iso-codes catalogues, the Debian documentation packages, and apt/dpkg manual
pages.
"""

import argparse
import collections
import fnmatch
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "sample"))
import make_sample as ms  # noqa: E402  (man page index, .so resolution, text)

SEED = "polycorp-bitext-v1"
GOLD = os.path.join(HERE, "gold")
TEST_UNITS = os.path.join(ROOT, "tests", "data", "bitext-dev.jsonl.gz")
TEST_DOCS = os.path.join(ROOT, "tests", "data", "bitext-docs-dev.jsonl.gz")
TEST_UNITS_MAX = 150_000
TEST_DOCS_MAX = 250_000
GOLD_MAX = 3_000_000

# Downloads: the Debian mirror first, then the snapshot the machines' apt
# sources were frozen at (for pins that a later point release removed).
MIRRORS = ["http://deb.debian.org/debian/",
           "https://snapshot.debian.org/archive/debian/20250520T000000Z/"]

# Debian 12 (bookworm) binary packages: (package, version, pool path, sha256)
DEBS = [
    # manual pages: English (Linux man-pages project) and translations
    ("manpages", "6.03-2", "pool/main/m/manpages/manpages_6.03-2_all.deb",
     "efa1ba4cd19ad7baeae959c9209a7eb74be2ebb858bcabb412597bfc9f588c91"),
    ("manpages-dev", "6.03-2",
     "pool/main/m/manpages/manpages-dev_6.03-2_all.deb",
     "96f55cb5e26231d5567c89b692bced63825a14a2d5bd18fdf16ea2ed44eb9838"),
    ("manpages-de", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-de_4.18.1-1_all.deb",
     "37d2e7ee51f22952aecec3af93647ff59194a3c74bb7a694560f49c7f7ab3978"),
    ("manpages-de-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-de-dev_4.18.1-1_all.deb",
     "cb3d7c10977dd3c811065d89e0d912196ec5e6f2551308edb0ba72e02da838d7"),
    ("manpages-fr", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-fr_4.18.1-1_all.deb",
     "ec29759cc0e4a44dc7719c1e32869d0060667049e584f09556f0d982b969ea33"),
    ("manpages-fr-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-fr-dev_4.18.1-1_all.deb",
     "25f5a53208d92f0a69a89e349edfb3068e6e6e4e0673fe712dd0d3b0c5b1512d"),
    ("manpages-es", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-es_4.18.1-1_all.deb",
     "d21e9f85e487f149ae45b5c525b2b1a70ae7fd38d4b05b47c8753042c66f4c2b"),
    ("manpages-es-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-es-dev_4.18.1-1_all.deb",
     "1c2e676050bc87ecd5b4fafa00e7365504aaaf5d64645ef9989e907e5612a322"),
    ("manpages-pl", "1:4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-pl_4.18.1-1_all.deb",
     "31e518ea8331b5204d4fd0032037f96af1ba94a5afa4f0585dca1996b270cdf9"),
    ("manpages-pl-dev", "1:4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-pl-dev_4.18.1-1_all.deb",
     "5a365751f2d6ee2a67d03a26e44a380d59790c42bd1ca9aeb0c35264f62e80c7"),
    ("manpages-ru", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-ru_4.18.1-1_all.deb",
     "5d5821dad5840652ba9c1c6b85bdc785c1fc52148a71c18fab6658c9659244c0"),
    ("manpages-ru-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-ru-dev_4.18.1-1_all.deb",
     "7182289b9a0af78422e48412f149907b6d84d16c78544db97e48b6ab2562bb55"),
    ("manpages-pt-br", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-pt-br_4.18.1-1_all.deb",
     "da971a7bc0107f7b74b4ae592d1d7cc6424fa7e77cc1808f5c110a07edaf3890"),
    ("manpages-pt-br-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-pt-br-dev_4.18.1-1_all.deb",
     "b29bb07536eb0a754e75055a0ae9888e0d2a1ab76798826bcefc5c4db6f6917c"),
    ("manpages-nl", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-nl_4.18.1-1_all.deb",
     "c1ac0e9fb2ff88a8d7f796042ce7d876fa8918e5d3367521c7f09dd885eb3b2d"),
    ("manpages-nl-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-nl-dev_4.18.1-1_all.deb",
     "15a736e26346d76e2f63e562ebf860769e4996fd1715986042883df970108899"),
    ("manpages-it", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-it_4.18.1-1_all.deb",
     "4b18e87cc1b6a930d40949ddc86fb8e84b50da1a862cd17e2a504eeb8e3b4e48"),
    ("manpages-it-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-it-dev_4.18.1-1_all.deb",
     "a14a1aa168ad1be85d5202d1ed69b9c995413420b0a62854e391796fa6692daa"),
    ("manpages-uk", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-uk_4.18.1-1_all.deb",
     "7ad64b12010584a6cc10a341ba561a6774e8493166524f386bcd9fd7cbebdd5b"),
    ("manpages-uk-dev", "4.18.1-1",
     "pool/main/m/manpages-l10n/manpages-uk-dev_4.18.1-1_all.deb",
     "70b304069853174d7f3cd92babac1b9cf68223d39f36356022e15f50410229de"),
    ("manpages-ja", "0.5.0.0.20221215+dfsg-1",
     "pool/main/m/manpages-ja/manpages-ja_0.5.0.0.20221215+dfsg-1_all.deb",
     "4d270e9a1e83be4de0c072a110892a17dc9caa4b501257324006ac28d82c5743"),
    ("manpages-ja-dev", "0.5.0.0.20221215+dfsg-1",
     "pool/main/m/manpages-ja/manpages-ja-dev_0.5.0.0.20221215+dfsg-1_all.deb",
     "eab2ad5f14a87b3911c48c90cef92f85d0e77ca5356923f9f9fbc38a86601d1e"),
    ("manpages-zh", "1.6.4.0-1",
     "pool/main/m/manpages-zh/manpages-zh_1.6.4.0-1_all.deb",
     "81bae29495f6445db290e3f329f1203eb19b651c2a7ea165b74ebdc853a32ac1"),
    # GNU and other packages: gettext catalogues and/or English originals of
    # translated manual pages (some also ship translated pages)
    ("coreutils", "9.1-1", "pool/main/c/coreutils/coreutils_9.1-1_amd64.deb",
     "61038f857e346e8500adf53a2a0a20859f4d3a3b51570cc876b153a2d51a3091"),
    ("tar", "1.34+dfsg-1.2+deb12u1",
     "pool/main/t/tar/tar_1.34+dfsg-1.2+deb12u1_amd64.deb",
     "24fb92e98c2969171f81a8b589263d705f6b1670f95d121cd74c810d4605acc3"),
    ("findutils", "4.9.0-4",
     "pool/main/f/findutils/findutils_4.9.0-4_amd64.deb",
     "5dd86bd0af4aa73f067dfd6b8339dd868f2dd84056aa79db29d1206d4fbc5e04"),
    ("diffutils", "1:3.8-4",
     "pool/main/d/diffutils/diffutils_3.8-4_amd64.deb",
     "8bdfedc14c1035e3750e9f055ac9c1ecd9b5d05d9e6dc6466c4e9237eef407dd"),
    ("grep", "3.8-5", "pool/main/g/grep/grep_3.8-5_amd64.deb",
     "3264acea728df3c48a54f20e9291b965130e306b9d00adac76647049da7196df"),
    ("wget", "1.21.3-1+deb12u1",
     "pool/main/w/wget/wget_1.21.3-1+deb12u1_amd64.deb",
     "b389052d1d8a8cacec4f0380d9ee54e8082bfbebe374299be95b5286c9380f80"),
    ("gettext-base", "0.21-12",
     "pool/main/g/gettext/gettext-base_0.21-12_amd64.deb",
     "5cb39c7acc7125e677ec98d0426a987daf0ce062f749f2a9421b2511f6dd5ab7"),
    ("gettext", "0.21-12", "pool/main/g/gettext/gettext_0.21-12_amd64.deb",
     "8c1f9d43575373ce311f51d00a13afbb4888d63aa559a93a3472f5d77513b60c"),
    ("bash", "5.2.15-2+b13", "pool/main/b/bash/bash_5.2.15-2+b13_amd64.deb",
     "82130bb6a560cd2a7234d8018baf73f188f5dd56413d5aa0accc987b2197a6a1"),
    ("sed", "4.9-1+deb12u1", "pool/main/s/sed/sed_4.9-1+deb12u1_amd64.deb",
     "fd557efeee8aae4619c2cb7f68aadccb804322ad4a99ab048aaae5901d253885"),
    ("gzip", "1.12-1", "pool/main/g/gzip/gzip_1.12-1_amd64.deb",
     "eabec1dde2834f72540d7b93fc5df2625f52611c06d93d61f5cdb12480e0e6a3"),
    ("procps", "2:4.0.2-3", "pool/main/p/procps/procps_4.0.2-3_amd64.deb",
     "d9d0e75779cb79af869181f17b93c5c263a2b89cac6a0193c436160a4483ddc1"),
    ("passwd", "1:4.13+dfsg1-1+deb12u2",
     "pool/main/s/shadow/passwd_4.13+dfsg1-1+deb12u2_amd64.deb",
     "fb787363372903e03627e53fd483e51dfb6861047a1e02c7d5a5f27d66546d08"),
    ("login", "1:4.13+dfsg1-1+deb12u2",
     "pool/main/s/shadow/login_4.13+dfsg1-1+deb12u2_amd64.deb",
     "f1cc45bf505a8457340dc3c36f3a01a1835aaf564d73d9d394afb8ccfb6595a0"),
    ("util-linux", "2.38.1-5+deb12u3",
     "pool/main/u/util-linux/util-linux_2.38.1-5+deb12u3_amd64.deb",
     "8eb241ff24b2e1ee9c0373f4fc9bc728b85bf5966c1496154df7da01c0e42f34"),
    ("man-db", "2.11.2-2", "pool/main/m/man-db/man-db_2.11.2-2_amd64.deb",
     "4134d16ea0233ebe78b2d1d271194fcf49a69eb2850421b0f3d76055e221fcea"),
    ("psmisc", "23.6-1", "pool/main/p/psmisc/psmisc_23.6-1_amd64.deb",
     "9d02f654bdf280a6622a9b1371f7a1fa44546702d11991e438558bc259df7b69"),
    ("less", "590-2.1~deb12u2", "pool/main/l/less/less_590-2.1~deb12u2_amd64.deb",
     "3c4ee8ce5e0f625e1169da9584e309c375a8a68e22de5821461d14446825cc1a"),
    ("e2fsprogs", "1.47.0-2+b2",
     "pool/main/e/e2fsprogs/e2fsprogs_1.47.0-2+b2_amd64.deb",
     "fedd424691c08ef0739729026be298e7be8236337bf8e031b3c7ec66794e6fc2"),
    ("systemd", "252.39-1~deb12u2",
     "pool/main/s/systemd/systemd_252.39-1~deb12u2_amd64.deb",
     "286f879c537bfba92e59d580c075ad20ab49020244c79634656850a306dd462b"),
    ("iproute2", "6.1.0-3", "pool/main/i/iproute2/iproute2_6.1.0-3_amd64.deb",
     "1204b29e916e836267096d0b9d778106752f821ebde0d281539008b4386d9070"),
    ("openssh-client", "1:9.2p1-2+deb12u10",
     "pool/main/o/openssh/openssh-client_9.2p1-2+deb12u10_amd64.deb",
     "42c250b8b9110382488c53c066a960bc564ddac2cb9e449f47b6cdbb5fc1cb60"),
    ("sudo", "1.9.13p3-1+deb12u4",
     "pool/main/s/sudo/sudo_1.9.13p3-1+deb12u4_amd64.deb",
     "ea9987f92630be504998516e1ed9c821c483131d0576ff35a09d6e7f8deff10f"),
]
DEB = {d[0]: d for d in DEBS}

# Upstream tarballs of the Debian source packages (as listed in their .dsc):
# only the .pot templates are read, for the natural (source) order of the
# messages.  source package: (Debian source version, pool path, sha256)
SOURCES = {
    "coreutils": ("9.1-1", "pool/main/c/coreutils/coreutils_9.1.orig.tar.xz",
                  "61a1f410d78ba7e7f37a5a4f50e6d1320aca33375484a3255eddf17a38580423"),
    "tar": ("1.34+dfsg-1.2+deb12u1", "pool/main/t/tar/tar_1.34+dfsg.orig.tar.xz",
            "7d57029540cb928394defb3b377b3531237c947e795b51aa8acac0c5ba0e4844"),
    "findutils": ("4.9.0-4", "pool/main/f/findutils/findutils_4.9.0.orig.tar.xz",
                  "a2bfb8c09d436770edc59f50fa483e785b161a3b7b9d547573cb08065fd462fe"),
    "diffutils": ("1:3.8-4", "pool/main/d/diffutils/diffutils_3.8.orig.tar.xz",
                  "a6bdd7d1b31266d11c4f4de6c1b748d4607ab0231af5188fc2533d0ae2438fec"),
    "grep": ("3.8-5", "pool/main/g/grep/grep_3.8.orig.tar.xz",
             "498d7cc1b4fb081904d87343febb73475cf771e424fb7e6141aff66013abc382"),
    "wget": ("1.21.3-1+deb12u1", "pool/main/w/wget/wget_1.21.3.orig.tar.gz",
             "5726bb8bc5ca0f6dc7110f6416e4bb7019e2d2ff5bf93d1ca2ffcc6656f220e5"),
    "gettext": ("0.21-12", "pool/main/g/gettext/gettext_0.21.orig.tar.xz",
                "d20fcbb537e02dcf1383197ba05bd0734ef7bf5db06bdb241eb69b7d16b73192"),
    "bash": ("5.2.15-2", "pool/main/b/bash/bash_5.2.15.orig.tar.gz",
             "7a315bc0e9d90713159e4390ec1096a41e4f33cd8cc3d1a749a8e5ad56600f51"),
    "sed": ("4.9-1+deb12u1", "pool/main/s/sed/sed_4.9.orig.tar.xz",
            "6e226b732e1cd739464ad6862bd1a1aba42d7982922da7a53519631d24975181"),
}

# Gettext catalogues: (text domain, binary package, source package, path of
# the .pot inside the source tarball (after the top directory), split).
# Processed in this order; an entry whose text was already used by an
# earlier catalogue of the split is dropped, and a held-out entry that shares
# any text with dev is dropped (gnulib messages recur across GNU packages).
CATALOGUES = [
    ("coreutils", "coreutils", "coreutils", "po/coreutils.pot", "dev"),
    ("tar", "tar", "tar", "po/tar.pot", "dev"),
    ("findutils", "findutils", "findutils", "po/findutils.pot", "dev"),
    ("diffutils", "diffutils", "diffutils", "po/diffutils.pot", "dev"),
    ("grep", "grep", "grep", "po/grep.pot", "heldout"),
    ("wget", "wget", "wget", "po/wget.pot", "heldout"),
    ("wget-gnulib", "wget", "wget", "gnulib_po/wget-gnulib.pot", "heldout"),
    ("gettext-runtime", "gettext-base", "gettext",
     "gettext-runtime/po/gettext-runtime.pot", "heldout"),
    ("gettext-tools", "gettext", "gettext",
     "gettext-tools/po/gettext-tools.pot", "heldout"),
    ("bash", "bash", "bash", "po/bash.pot", "heldout"),
    ("sed", "sed", "sed", "po/sed.pot", "heldout"),
]
SPLITS = ["dev", "heldout"]

# Language code in the gold -> gettext locale / man page directory
UNIT_LOCALES = {"de": "de", "fr": "fr", "es": "es", "ru": "ru", "pl": "pl",
                "ja": "ja", "zh": "zh_CN", "pt": "pt_BR"}
UNIT_PAIRS = [("en", "de"), ("en", "fr"), ("en", "es"), ("en", "ru"),
              ("en", "pl"), ("en", "ja"), ("en", "zh"), ("en", "pt"),
              ("de", "fr"), ("es", "pt")]
DOC_MIN, DOC_MAX = 40, 150          # entries per unit document
MIN_CAT_ENTRIES = 40                # a catalogue gives >= 1 document
MIN_PAIR_ENTRIES = 200              # a pair is kept in a split with >= 200
MIN_UNIT_CHARS = 3

# --------------------------------------------------------------------------
# Manual pages (document alignment)
# --------------------------------------------------------------------------

DOC_LOCALES = {"en": "en", "de": "de", "fr": "fr", "es": "es", "pl": "pl",
               "ru": "ru", "ja": "ja", "zh": "zh_CN", "pt": "pt_BR",
               "nl": "nl", "it": "it", "uk": "uk"}
URL_TAG = {"en": "en", "de": "de", "fr": "fr", "es": "es", "pl": "pl",
           "ru": "ru", "ja": "ja", "zh": "zh-cn", "pt": "pt-br", "nl": "nl",
           "it": "it", "uk": "uk"}
NON_LATIN = {"ru": r"[\u0400-\u04FF]", "uk": r"[\u0400-\u04FF]",
             "ja": r"[\u3040-\u30FF\u4E00-\u9FFF]", "zh": r"[\u4E00-\u9FFF]"}
# Translation packages first: where an English package also ships a
# translation of its own page (procps, passwd, man-db, ...), manpages-l10n's
# wins.
MAN_PACKAGES = [d[0] for d in DEBS if d[0].startswith("manpages-")] + [
    "manpages", "manpages-dev", "coreutils", "tar", "findutils", "diffutils",
    "grep", "wget", "gettext-base", "gettext", "bash", "sed", "gzip",
    "procps", "passwd", "login", "util-linux", "man-db", "psmisc", "less",
    "e2fsprogs", "systemd", "iproute2", "openssh-client", "sudo"]

# Page names of sample/ (any section) and their aliases: never in held-out.
SAMPLE_NAMES = set("""ls cp mv rm mkdir rmdir chmod chown cat ln df du touch
echo date sort head tail wc grep find tar gzip kill ps free passwd chsh ldd
intro group shells shadow hosts services issue motd null random hier ascii
utf-8 unicode uri man locale charsets useradd groupadd egrep fgrep zcat gunzip
url utf8""".split())

# Hosts: (name, languages, English pages with >= 1 translation on the host
# (for a host without English: pages in >= 2 of its languages), max
# characters of the English text, URL scheme).  Distractors (pages whose
# other language versions are not on the host) are added: English-only
# pages (about 12 % of the core count) and pages in one other language only
# (about 12 %).  Same shapes in both splits; dev adds two small hosts (the
# unit-test subset).
HostSpec = collections.namedtuple("HostSpec", "name langs n_core max_chars scheme")
HOSTS = {
    "dev": [
        HostSpec("docs-a.example.org", ["en", "de", "fr", "ja"], 18, 5000, "dir"),
        HostSpec("docs-b.example.org", ["en", "es", "ru", "zh"], 16, 5000, "suffix"),
        HostSpec("man-1.example.com", ["en", "de", "fr", "es", "it", "nl"], 80, 12000, "dir"),
        HostSpec("man-2.example.com", ["en", "pl", "ru", "uk"], 50, 12000, "suffix"),
        HostSpec("man-3.example.com", ["en", "ja", "zh", "pt"], 50, 12000, "query"),
        HostSpec("man-4.example.com", ["de", "fr", "es"], 40, 12000, "dir-en-root"),
    ],
    "heldout": [
        HostSpec("manuals-1.example.net", ["en", "de", "fr", "es", "it", "nl"], 80, 12000, "dir"),
        HostSpec("manuals-2.example.net", ["en", "pl", "ru", "uk"], 50, 12000, "suffix"),
        HostSpec("manuals-3.example.net", ["en", "ja", "zh", "pt"], 50, 12000, "query"),
        HostSpec("manuals-4.example.net", ["de", "fr", "es"], 40, 12000, "dir-en-root"),
    ],
}
TEST_HOSTS = ["docs-a.example.org", "docs-b.example.org"]
DISTRACTOR_SHARE = 0.12
MIN_EN_CHARS = 1000
MIN_TR_CHARS = 300
MAX_UNTRANSLATED = 0.30


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

def forbidden(name):
    return ms.is_forbidden_package(name) or re.match(
        r"^(apt|dpkg|iso-codes|python3?-django)", name)


def fetch(pool_path, sha, dest_dir):
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, os.path.basename(pool_path))
    if os.path.exists(dest) and ms.sha256_file(dest) == sha:
        return dest
    last = None
    for mirror in MIRRORS:
        url = mirror + pool_path
        try:
            log("downloading", url)
            with urllib.request.urlopen(url, timeout=300) as r:
                data = r.read()
        except (urllib.error.URLError, OSError) as e:
            last = e
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            last = "sha256 mismatch"
            continue
        with open(dest + ".part", "wb") as f:
            f.write(data)
        os.replace(dest + ".part", dest)
        return dest
    sys.exit("cannot download %s (%s); the pins in make_gold.py need "
             "updating" % (pool_path, last))


def unpack_debs(work, names):
    """{package: unpacked root}"""
    out = {}
    for name in names:
        pkg, ver, path, sha = DEB[name]
        if forbidden(pkg):
            sys.exit("refusing to use reserved package %s" % pkg)
        deb = fetch(path, sha, os.path.join(work, "debs"))
        d = os.path.join(work, "root", os.path.basename(path)[:-4])
        if not os.path.exists(os.path.join(d, ".ok")):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            subprocess.run(["dpkg-deb", "-x", deb, d], check=True)
            open(os.path.join(d, ".ok"), "w").close()
        out[pkg] = d
    return out


def pot_text(work, src, member):
    """The .pot `member` of source package `src` (cached as a file)."""
    ver, path, sha = SOURCES[src]
    cache = os.path.join(work, "pot", "%s_%s__%s" % (
        src, ver.split(":")[-1], member.replace("/", "_")))
    if not os.path.exists(cache):
        tgz = fetch(path, sha, os.path.join(work, "src"))
        log("reading %s from %s" % (member, os.path.basename(tgz)))
        data = None
        with tarfile.open(tgz) as tf:
            for m in tf:
                if m.isfile() and m.name.split("/", 1)[-1] == member:
                    data = tf.extractfile(m).read()
                    break
        if data is None:
            sys.exit("%s not found in %s" % (member, tgz))
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache + ".part", "wb") as f:
            f.write(data)
        os.replace(cache + ".part", cache)
    with open(cache, "rb") as f:
        return f.read().decode("utf-8")


# --------------------------------------------------------------------------
# Gettext catalogues
# --------------------------------------------------------------------------

def read_mo(path):
    """{(msgctxt, msgid): msgstr} of a GNU .mo file.  Plural entries: the
    singular msgid and the first msgstr form.  The header entry is skipped;
    msgfmt leaves fuzzy entries out of .mo files."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic == 0x950412DE else ">"
    if struct.unpack(e + "I", data[:4])[0] != 0x950412DE:
        raise ValueError("not a .mo file: %s" % path)
    n, oo, to = struct.unpack(e + "3I", data[8:20])
    raw = []
    for i in range(n):
        l1, o1 = struct.unpack(e + "2I", data[oo + 8 * i: oo + 8 * i + 8])
        l2, o2 = struct.unpack(e + "2I", data[to + 8 * i: to + 8 * i + 8])
        raw.append((data[o1:o1 + l1], data[o2:o2 + l2]))
    charset = "utf-8"
    for k, v in raw:
        if k == b"":
            m = re.search(rb"charset=([-\w]+)", v)
            if m and m.group(1).lower() != b"charset":
                charset = m.group(1).decode("ascii")
    out = {}
    for k, v in raw:
        if not k:
            continue
        ctx = None
        if b"\x04" in k:
            ctx, k = k.split(b"\x04", 1)
            ctx = ctx.decode(charset)
        msgid = k.split(b"\0")[0].decode(charset)
        msgstr = v.split(b"\0")[0].decode(charset)
        if msgstr:
            out[(ctx, msgid)] = msgstr
    return out


_PO_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\",
           "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_PO_LINE = re.compile(
    r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")\s*$')


def _po_unquote(s):
    s = s.strip()
    if not (len(s) >= 2 and s[0] == '"' and s[-1] == '"'):
        raise ValueError("bad PO string: %r" % s)
    return re.sub(r'\\(.)', lambda m: _PO_ESC.get(m.group(1), m.group(1)),
                  s[1:-1])


def pot_order(text):
    """[(msgctxt, msgid)] in file order (= order of the source references),
    without the header and obsolete (#~) entries."""
    out, seen = [], set()
    for block in re.split(r"\n[ \t]*\n", text):
        fields, cur = {}, None
        for line in block.split("\n"):
            if line.startswith("#"):
                continue
            m = _PO_LINE.match(line)
            if m:
                cur = m.group(1)
                fields[cur] = _po_unquote(m.group(2))
            elif line.startswith('"') and cur:
                fields[cur] += _po_unquote(line)
        key = (fields.get("msgctxt"), fields.get("msgid"))
        if key[1] and key not in seen:
            seen.add(key)
            out.append(key)
    return out


_FORMAT = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?"
    r"(?:<PRI[a-zA-Z0-9]+>|(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?[a-zA-Z%])")


def norm_unit(s):
    return " ".join(s.split())


def eligible(msgid_norm):
    """>= 3 characters, and a letter outside printf directives."""
    if len(msgid_norm) < MIN_UNIT_CHARS:
        return False
    return any(c.isalpha() for c in _FORMAT.sub(" ", msgid_norm))


def load_catalogues(work, debroots):
    """[(catalogue, package, version, split, [entry])], entry = {lang: text}
    ('en' = the msgid) in natural order, after the eligibility, duplicate and
    cross-split filters."""
    raw = []
    for cat, pkg, src, member, split in CATALOGUES:
        order = pot_order(pot_text(work, src, member))
        mos = {}
        for code, loc in UNIT_LOCALES.items():
            p = os.path.join(debroots[pkg], "usr", "share", "locale", loc,
                             "LC_MESSAGES", cat + ".mo")
            mos[code] = read_mo(p) if os.path.exists(p) else {}
        inpot = set(order)
        extra = sorted({k for m in mos.values() for k in m if k not in inpot},
                       key=lambda k: (k[1], k[0] or ""))
        if extra:
            log("%s: %d .mo entries not in the .pot (appended in msgid order)"
                % (cat, len(extra)))
        entries, stats = [], collections.Counter()
        for key in order + extra:
            en = norm_unit(key[1])
            if not eligible(en):
                stats["ineligible"] += 1
                continue
            ent = {"en": en}
            for code in UNIT_LOCALES:
                t = norm_unit(mos[code].get(key, ""))
                if t:
                    ent[code] = t
            entries.append(ent)
        raw.append((cat, pkg, DEB[pkg][1], split, entries, len(order), stats))
    # duplicates within a split, then held-out entries that share text with
    # dev (compared case-folded, per language)
    dev_text = collections.defaultdict(set)
    out = []
    for split in SPLITS:
        seen = set()
        for cat, pkg, ver, sp, entries, n_pot, stats in raw:
            if sp != split:
                continue
            kept = []
            for ent in entries:
                k = ent["en"].casefold()
                if k in seen:
                    stats["duplicate"] += 1
                    continue
                seen.add(k)
                if split != "dev" and any(
                        t.casefold() in dev_text[l] for l, t in ent.items()):
                    stats["shared_with_dev"] += 1
                    continue
                kept.append(ent)
                if split == "dev":
                    for l, t in ent.items():
                        dev_text[l].add(t.casefold())
            stats["kept"] = len(kept)
            stats["pot"] = n_pot
            out.append((cat, pkg, ver, split, kept, dict(stats)))
    return out


def cut_sizes(n, rng):
    """Document sizes (40-150 entries) covering n >= 40 entries."""
    sizes = []
    while n > DOC_MAX:
        s = rng.randint(DOC_MIN, min(DOC_MAX, n - DOC_MIN))
        sizes.append(s)
        n -= s
    if n >= DOC_MIN:
        sizes.append(n)
    return sizes


def build_units(cats):
    rows = {s: [] for s in SPLITS}
    for cat, pkg, ver, split, entries, _ in cats:
        for a, b in UNIT_PAIRS:
            ents = [e for e in entries if a in e or b in e]
            if len(ents) < MIN_CAT_ENTRIES:
                continue
            pair = "-".join(sorted((a, b)))
            rng = random.Random("%s|units|%s|%s" % (SEED, cat, pair))
            pos = 0
            for k, size in enumerate(cut_sizes(len(ents), rng)):
                src, tgt, ali = [], [], []
                for e in ents[pos:pos + size]:
                    i = j = None
                    if a in e:
                        i = len(src)
                        src.append(e[a])
                    if b in e:
                        j = len(tgt)
                        tgt.append(e[b])
                    if i is not None and j is not None:
                        ali.append([i, j])
                pos += size
                rows[split].append({
                    "id": "%s-%s-%03d" % (cat, pair, k),
                    "catalogue": cat, "package": pkg, "version": ver,
                    "pair": pair, "src_lang": a, "tgt_lang": b,
                    "src_units": src, "tgt_units": tgt, "alignment": ali,
                    "split": split})
    # a pair needs >= MIN_PAIR_ENTRIES aligned entries in the split
    for split in SPLITS:
        n = collections.Counter()
        for r in rows[split]:
            n[r["pair"]] += len(r["alignment"])
        low = {p for p, c in n.items() if c < MIN_PAIR_ENTRIES}
        if low:
            log("%s: pairs dropped (< %d links): %s" % (split, MIN_PAIR_ENTRIES,
                                                       sorted(low)))
        rows[split] = [r for r in rows[split] if r["pair"] not in low]
    return rows


# --------------------------------------------------------------------------
# Manual pages
# --------------------------------------------------------------------------

def render(path, mandir):
    data = ms._MDOCDATE_RE.sub(b".Dd", ms.read_source(path))
    r = subprocess.run(["mandoc", "-Ios=Debian", "-Tutf8", "-Owidth=1000"],
                       input=data, capture_output=True, cwd=mandir,
                       env=dict(os.environ, LC_ALL="C.UTF-8"), timeout=120)
    text = ms.normalise_text(r.stdout.decode("utf-8", "replace"))
    # one paragraph per line; no blank lines, no table rules, and without
    # mandoc's header and footer lines (page name, section, date, source)
    lines = [l for l in text.split("\n") if l and not (
        len(l) >= 10 and not any(c.isalnum() for c in l))]
    return "\n".join(lines[1:-1])


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_EN_WORDS = set("""the and of is that with are this which from be by it when
will can was for if not should must has have been""".split())


def untranslated_share(text, lang, en_text):
    """Share of characters in long lines (40+ characters, 5+ Latin words)
    that are still English: verbatim in the English page, or without a
    character of the script (ru, uk, ja, zh), or with 20 %+ English function
    words (Latin-script languages)."""
    en_lines = set(en_text.split("\n")) if en_text else set()
    script = NON_LATIN.get(lang)
    bad = 0
    for l in text.split("\n"):
        words = _LATIN_WORD.findall(l)
        if len(l) < 40 or len(words) < 5:
            continue
        if l in en_lines or (script and not re.search(script, l)) or (
                not script and sum(w.lower() in _EN_WORDS for w in words)
                >= 0.2 * len(words)):
            bad += len(l)
    return bad / max(1, len(text))


def doc_split(page):
    base = page.rsplit(".", 1)[0]
    h = hashlib.sha1(("%s|split|%s" % (SEED, base)).encode()).digest()
    return "dev" if h[0] % 2 == 0 else "heldout"


class ManPages:
    def __init__(self, debroots):
        self.roots = {p: debroots[p] for p in MAN_PACKAGES}
        self.index = ms.build_index(MAN_PACKAGES, self.roots)
        loc2code = {v: k for k, v in DOC_LOCALES.items()}
        self.pages = collections.defaultdict(dict)  # page -> {lang: key}
        secdirs = collections.defaultdict(set)
        for key in sorted(self.index):
            loc, secdir, name = key
            if loc not in loc2code or ms.resolve(self.index, key) != key:
                continue
            self.pages[name][loc2code[loc]] = key
            secdirs[name].add(secdir)
        for name, s in secdirs.items():
            if len(s) > 1:  # same name.section in two directories: skip
                del self.pages[name]
        self.cache = {}

    def text(self, page, lang):
        key = self.pages[page][lang]
        if key not in self.cache:
            e = self.index[key]
            base = os.path.join(self.roots[e.pkg], "usr", "share", "man")
            mandir = base if e.lang == "en" else os.path.join(base, e.lang)
            self.cache[key] = render(e.path, mandir)
        return self.cache[key]

    def source(self, page, lang):
        e = self.index[self.pages[page][lang]]
        return "%s %s %s" % (e.pkg, DEB[e.pkg][1],
                             "/" + os.path.relpath(e.path, self.roots[e.pkg]))


def page_url(host, scheme, lang, page):
    name, sec = page.rsplit(".", 1)
    secdir = "man" + re.match(r"\d", sec).group(0) if re.match(r"\d", sec) \
        else "man" + sec
    tag = URL_TAG[lang]
    if scheme == "dir":
        return "https://%s/%s/%s/%s.html" % (host, tag, secdir, page)
    if scheme == "suffix":
        return "https://%s/%s/%s.%s.html" % (host, secdir, page, tag)
    if scheme == "query":
        return "https://%s/%s/%s.html?lang=%s" % (host, secdir, page, tag)
    if scheme == "dir-en-root":
        if lang == "en":
            return "https://%s/%s/%s" % (host, secdir, page)
        return "https://%s/%s/%s/%s" % (host, tag, secdir, page)
    raise ValueError(scheme)


def build_docs(mp):
    """{split: [row]}, {split: {host: stats}}"""
    rows = {s: [] for s in SPLITS}
    stats = {s: {} for s in SPLITS}
    by_split = collections.defaultdict(list)
    for page in mp.pages:
        sp = doc_split(page)
        if sp == "heldout" and page.rsplit(".", 1)[0] in SAMPLE_NAMES:
            continue
        if "en" not in mp.pages[page]:
            continue  # the untranslated check needs the English page
        by_split[sp].append(page)
    good = {}

    def ok(page, lang, max_chars):
        """The page's version in lang is usable (English text within the
        host's length limit, translation mostly translated)."""
        k = (page, lang)
        if k not in good:
            en = mp.text(page, "en")
            if lang == "en":
                good[k] = len(en)
            else:
                t = mp.text(page, lang)
                good[k] = len(en) if (len(t) >= MIN_TR_CHARS and untranslated_share(
                    t, lang, en) <= MAX_UNTRANSLATED) else None
        n = good[k]
        return n is not None and MIN_EN_CHARS <= n <= max_chars

    for split in SPLITS:
        cands = sorted(by_split[split], key=lambda p: hashlib.sha1(
            ("%s|docs|%s" % (SEED, p)).encode()).hexdigest())
        used = set()
        for spec in HOSTS[split]:
            rng = random.Random("%s|host|%s" % (SEED, spec.name))
            has_en = "en" in spec.langs
            foreign_langs = [l for l in spec.langs if l != "en"]
            n_dist = max(2, round(DISTRACTOR_SHARE * spec.n_core))
            avail = {}  # page -> usable host languages, in candidate order
            for page in cands:
                if page in used or not ok(page, "en", spec.max_chars):
                    continue
                av = [l for l in spec.langs if l in mp.pages[page]
                      and ok(page, l, spec.max_chars)]
                if av:
                    avail[page] = av
            # core pages, language-balanced: repeatedly take the next
            # candidate that has the host language with the fewest
            # translations so far
            pool = [p for p, av in avail.items() if (
                ("en" in av and len(av) >= 2) if has_en else len(av) >= 2)]
            count = collections.Counter()
            core = []
            while len(core) < spec.n_core and pool:
                left = [l for l in foreign_langs if any(l in avail[p]
                                                        for p in pool)]
                want = min(left, key=lambda l: (count[l],
                                                foreign_langs.index(l)))
                page = next(p for p in pool if want in avail[p])
                pool.remove(page)
                core.append(page)
                count.update(l for l in avail[page] if l != "en")
            if len(core) < spec.n_core:
                log("WARNING: %s: only %d core pages" % (spec.name, len(core)))
            chosen = set(core)
            picks = [(p, avail[p]) for p in core]
            # distractors: English pages with no translation in any of the
            # host's languages; pages in one other language only
            dist_en, dist_fx = [], []
            for page, av in avail.items():
                if page in chosen:
                    continue
                if has_en and len(dist_en) < n_dist and av == ["en"] and not \
                        any(l in mp.pages[page] for l in foreign_langs):
                    dist_en.append(page)
                    picks.append((page, ["en"]))
                elif len(dist_fx) < n_dist and any(l != "en" for l in av):
                    dist_fx.append(page)
                    picks.append((page, [rng.choice(
                        [l for l in av if l != "en"])]))
            used |= chosen | set(dist_en) | set(dist_fx)
            for page, langs in picks:
                for lang in langs:
                    rows[split].append(make_doc(mp, spec, split, page, lang))
            hs = [r for r in rows[split] if r["host"] == spec.name]
            stats[split][spec.name] = {
                "langs": spec.langs, "scheme": spec.scheme,
                "core_pages": len(core), "distractors_en_only": len(dist_en),
                "distractors_other": len(dist_fx), "docs": len(hs),
                "docs_per_lang": dict(sorted(collections.Counter(
                    r["lang"] for r in hs).items())),
                "gold_pairs": n_pairs(hs)}
    for split in SPLITS:
        rows[split].sort(key=lambda r: (
            [h.name for h in HOSTS[split]].index(r["host"]), r["url_opaque"]))
    return rows, stats


def n_pairs(rows):
    c = collections.Counter(r["page"] for r in rows)
    return sum(n * (n - 1) // 2 for n in c.values())


_STANZAS = {}


def page_licence(mp, page, lang):
    """Licence of one page: the `License` of the last DEP-5 `Files` stanza
    of its package's copyright file that matches the page (translations:
    po/<locale>/<section>/<page>.po), else the package's summary."""
    e = mp.index[mp.pages[page][lang]]
    if e.pkg not in _STANZAS:
        star, _ = licence_summary(mp.roots, e.pkg)
        st = []
        d = os.path.join(mp.roots[e.pkg], "usr", "share", "doc", e.pkg)
        if os.path.islink(d) and os.readlink(d) in mp.roots:
            t = os.readlink(d)
            d = os.path.join(mp.roots[t], "usr", "share", "doc", t)
        p = os.path.join(d, "copyright")
        text = open(p, encoding="utf-8", errors="replace").read() \
            if os.path.exists(p) else ""
        if text.startswith("Format:"):
            for block in re.split(r"\n[ \t]*\n", text):
                f = re.search(r"^Files:((?:.*\n?)(?:[ \t].*\n?)*)", block,
                              re.M)
                lic = re.search(r"^License:\s*(.+)$", block, re.M)
                if f and lic:
                    st.append((f.group(1).split(), lic.group(1).strip()))
        _STANZAS[e.pkg] = (star, st)
    star, st = _STANZAS[e.pkg]
    loc = DOC_LOCALES[lang]
    cands = ["%s/%s" % (e.secdir, e.name),
             "po/%s/%s/%s.po" % (loc, e.secdir, e.name),
             "man/%s/%s" % (e.secdir, e.name)]
    lic = None
    for pats, l in st:
        if any(fnmatch.fnmatchcase(c, pat) for pat in pats for c in cands):
            lic = l
    return lic or star or "see the package's copyright file"


def make_doc(mp, spec, split, page, lang):
    h = hashlib.sha1(("%s|%s|%s|%s" % (SEED, spec.name, lang, page)).encode()
                     ).hexdigest()
    marked = page_url(spec.name, spec.scheme, lang, page)
    return {"host": spec.name, "id": h[:16], "lang": lang, "url": marked,
            "url_marked": marked,
            "url_opaque": "https://%s/p/%s.html" % (spec.name, h[:12]),
            "text": mp.text(page, lang), "page": page, "split": split,
            "source": mp.source(page, lang),
            "licence": page_licence(mp, page, lang)}


# --------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------

def licence_summary(debroots, pkg):
    """(licence of `Files: *`, all licence names) from a DEP-5 copyright
    file; for free-form ones, the GPL/LGPL/GFDL versions named (the first
    one standing for `Files: *`: gettext's tools, wget).  A doc
    directory that is a symlink (manpages-dev -> manpages) is followed."""
    d = os.path.join(debroots[pkg], "usr", "share", "doc", pkg)
    if os.path.islink(d) and os.readlink(d) in debroots:
        t = os.readlink(d)
        d = os.path.join(debroots[t], "usr", "share", "doc", t)
    p = os.path.join(d, "copyright")
    if not os.path.exists(p):
        return None, []
    text = open(p, encoding="utf-8", errors="replace").read()
    if "same license as the original" in " ".join(text.split()):
        return "same licence as the original page", [
            "same licence as the original page"]
    if text.startswith("Format:") or "\nFiles:" in text:
        star, names = None, []
        for block in re.split(r"\n[ \t]*\n", text):
            f = re.search(r"^Files:\s*(.*)$", block, re.M)
            lic = re.search(r"^License:\s*(.+)$", block, re.M)
            if lic:
                name = lic.group(1).strip()
                if name not in names:
                    names.append(name)
                if f and f.group(1).strip() == "*":
                    star = name
        return star, names
    names = []
    for m in re.finditer(r"GNU (Lesser |Library |Free Documentation )?"
                         r"(?:General Public )?License[^.]*?version ([\d.]+)",
                         text, re.S):
        kind = {"Lesser ": "LGPL", "Library ": "LGPL",
                "Free Documentation ": "GFDL"}.get(m.group(1), "GPL")
        n = "%s-%s+" % (kind, m.group(2).rstrip("."))
        if n not in names:
            names.append(n)
    for m in re.finditer(r"common-licenses/([A-Za-z0-9.+-]+)", text):
        if m.group(1).rstrip(".") not in names:
            names.append(m.group(1).rstrip("."))
    return (names[0] if names else None), names


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def write_jsonl_gz(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="",
                       compresslevel=9) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False, sort_keys=False)
                     + "\n").encode())
    with open(path + ".part", "wb") as f:
        f.write(buf.getvalue())
    os.replace(path + ".part", path)
    return len(buf.getvalue())


def gz_size(rows):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="",
                       compresslevel=9) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode())
    return len(buf.getvalue())


def unit_test_subset(rows):
    """A few dev documents per pair (the smallest ones of each catalogue),
    within TEST_UNITS_MAX."""
    by_pair = collections.defaultdict(list)
    for r in rows:
        by_pair[r["pair"]].append(r)
    picked = []
    for rnd in range(4):
        for pair in sorted(by_pair):
            docs = sorted(by_pair[pair], key=lambda r: (
                sum(map(len, r["src_units"] + r["tgt_units"])), r["id"]))
            cats = []
            for r in docs:
                if r["catalogue"] not in cats:
                    cats.append(r["catalogue"])
            cat = cats[rnd % len(cats)]
            left = [r for r in docs if r["catalogue"] == cat and r not in picked]
            if not left:
                continue
            if gz_size(picked + [left[0]]) > TEST_UNITS_MAX:
                return sorted(picked, key=lambda r: rows.index(r))
            picked.append(left[0])
    return sorted(picked, key=lambda r: rows.index(r))


def unit_counts(rows):
    c = collections.defaultdict(lambda: collections.Counter())
    for r in rows:
        k = c[r["pair"]]
        k["docs"] += 1
        k["src_units"] += len(r["src_units"])
        k["tgt_units"] += len(r["tgt_units"])
        k["links"] += len(r["alignment"])
        k["deletions"] += len(r["src_units"]) - len(r["alignment"])
        k["insertions"] += len(r["tgt_units"]) - len(r["alignment"])
    return {p: dict(v) for p, v in sorted(c.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=os.path.join(ROOT, "benchmarks", "work",
                                                   "bitext"),
                    help="download/unpack cache (default: %(default)s)")
    a = ap.parse_args()
    t0 = time.time()
    ms.ensure_mandoc()
    debroots = unpack_debs(a.work, [d[0] for d in DEBS])

    # ---- units
    cats = load_catalogues(a.work, debroots)
    units = build_units(cats)
    # ---- documents
    mp = ManPages(debroots)
    log("man pages: %d names with a real page" % len(mp.pages))
    docs, host_stats = build_docs(mp)

    sizes = {}
    for split in SPLITS:
        for kind, rows in (("units", units[split]), ("docs", docs[split])):
            p = os.path.join(GOLD, "%s-%s.jsonl.gz" % (kind, split))
            sizes[os.path.relpath(p, ROOT)] = write_jsonl_gz(p, rows)
    t_units = unit_test_subset(units["dev"])
    sizes[os.path.relpath(TEST_UNITS, ROOT)] = write_jsonl_gz(TEST_UNITS,
                                                              t_units)
    t_docs = [r for r in docs["dev"] if r["host"] in TEST_HOSTS]
    sizes[os.path.relpath(TEST_DOCS, ROOT)] = write_jsonl_gz(TEST_DOCS, t_docs)
    for p, n in sizes.items():
        lim = (TEST_UNITS_MAX if p.endswith("bitext-dev.jsonl.gz") else
               TEST_DOCS_MAX if p.endswith("bitext-docs-dev.jsonl.gz")
               else GOLD_MAX)
        if n > lim:
            log("WARNING: %s is %d bytes (> %d)" % (p, n, lim))

    # ---- manifest
    used_pkgs = sorted({c[1] for c in cats} | {
        r["source"].split()[0] for s in SPLITS for r in docs[s]})
    licences = {}
    for p in used_pkgs:
        star, names = licence_summary(debroots, p)
        licences[p] = {"version": DEB[p][1], "sha256": DEB[p][3],
                       "files_star": star, "licences": names}
    doc_licences = collections.Counter(
        (r["source"].split()[0], r["licence"]) for s in SPLITS
        for r in docs[s])
    man_pages_per_pkg = collections.Counter(
        r["source"].split()[0] for s in SPLITS for r in docs[s])
    manifest = {
        "seed": SEED,
        "mandoc": ms.pkg_version("mandoc"),
        "packages": licences,
        "sources": {k: {"version": v[0], "file": os.path.basename(v[1]),
                        "sha256": v[2]} for k, v in SOURCES.items()},
        "catalogues": [{"catalogue": c[0], "package": c[1], "version": c[2],
                        "split": c[3], "entries": c[5]} for c in cats],
        "units": {s: unit_counts(units[s]) for s in SPLITS},
        "docs": host_stats,
        "docs_by_package": dict(sorted(man_pages_per_pkg.items())),
        "docs_by_package_licence": ["%s: %s (%d)" % (p, l, n) for (p, l), n
                                    in sorted(doc_licences.items())],
        "test_units": {"docs": len(t_units), "pairs": sorted(
            {r["pair"] for r in t_units})},
        "test_docs": {"hosts": TEST_HOSTS, "docs": len(t_docs)},
        "sizes": sizes,
    }
    with open(os.path.join(GOLD, "manifest.json"), "w") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print_tables(manifest)
    log("done in %.0fs" % (time.time() - t0))


def print_tables(m):
    print("\n### Unit alignment (gettext catalogues)\n")
    print("| split | pair | docs | src units | tgt units | 1-1 links | "
          "1-0 | 0-1 |")
    print("|---|---|---|---|---|---|---|---|")
    for s in SPLITS:
        for p, c in m["units"][s].items():
            print("| %s | %s | %d | %d | %d | %d | %d | %d |" % (
                s, p, c["docs"], c["src_units"], c["tgt_units"], c["links"],
                c["deletions"], c["insertions"]))
    print("\n| catalogue | package | version | split | .pot entries | "
          "kept | not eligible | duplicate | shared with dev |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in m["catalogues"]:
        e = c["entries"]
        print("| %s | %s | %s | %s | %d | %d | %d | %d | %d |" % (
            c["catalogue"], c["package"], c["version"], c["split"],
            e.get("pot", 0), e.get("kept", 0), e.get("ineligible", 0),
            e.get("duplicate", 0), e.get("shared_with_dev", 0)))
    print("\n### Document alignment (manual pages)\n")
    print("| split | host | languages | URL scheme | core pages | "
          "distractors (en only / other) | docs | docs per language | "
          "gold pairs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in SPLITS:
        for h, st in m["docs"][s].items():
            print("| %s | %s | %s | %s | %d | %d / %d | %d | %s | %d |" % (
                s, h, " ".join(st["langs"]), st["scheme"], st["core_pages"],
                st["distractors_en_only"], st["distractors_other"],
                st["docs"], " ".join("%s %d" % kv for kv in
                                     st["docs_per_lang"].items()),
                st["gold_pairs"]))
    print("\n### Files\n")
    for p, n in m["sizes"].items():
        print("- `%s`: %d bytes" % (p, n))


if __name__ == "__main__":
    main()
