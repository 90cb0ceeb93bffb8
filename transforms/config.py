"""Typed build configuration.

The defaults live in one place, `resources/default_config.toml`, which documents every key. A user
file overrides any subset of keys; an unknown key (or a value of the wrong type) is an error naming
it. The effective configuration is stored in `manifest.json`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = resources.files("transforms") / "resources" / "default_config.toml"
BUNDLED_LID_MODEL = resources.files("transforms") / "resources" / "lid.176.ftz"


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class ReadConfig:
    max_payload_bytes: int
    document_record_types: tuple[str, ...]


@dataclass(frozen=True)
class ExtractConfig:
    html_content_types: tuple[str, ...]
    main_content: bool
    max_control_byte_ratio: float


@dataclass(frozen=True)
class LangIdConfig:
    model: str
    max_chars: int
    batch_size: int
    min_score: dict[str, float]

    def model_path(self) -> str:
        return self.model or str(BUNDLED_LID_MODEL)

    def threshold(self, lang: str) -> float:
        return self.min_score.get(lang, self.min_score["default"])


@dataclass(frozen=True)
class FilterConfig:
    min_chars: int


@dataclass(frozen=True)
class NearDedupConfig:
    enabled: bool
    word_ngram: int
    char_ngram: int
    bands: int
    rows: int
    seed: int
    batch_size: int
    min_similarity: float
    cc_rounds: int
    partition_docs: int
    lsh_partitions: int

    def minhash(self):
        from transforms.minhash import MinHashConfig

        return MinHashConfig(self.word_ngram, self.char_ngram, self.bands, self.rows, self.seed)


@dataclass(frozen=True)
class QualityConfig:
    enabled: bool
    thresholds: dict[str, dict[str, float]]  # language (or "default") → {min_/max_<signal>: value}

    def for_lang(self, lang: str) -> dict[str, float]:
        """The thresholds that apply to `lang`: the default table overridden by the language's."""
        return {**self.thresholds.get("default", {}), **self.thresholds.get(lang, {})}


@dataclass(frozen=True)
class RepeatedLinesConfig:
    enabled: bool
    min_chars: int
    min_docs: int


@dataclass(frozen=True)
class BitextConfig:
    enabled: bool
    pairs: tuple[str, ...]
    min_content_score: float
    min_linked_score: float
    max_postings: int
    ratio_prior_chars: int
    variance: float
    w_len: float
    w_skip_len: float
    w_sim: float
    band_min: int
    band_sqrt: float
    skip_prior: float
    merge_prior: float
    max_sentences: int
    min_score: float
    max_length_ratio: float
    min_letter_share: float
    min_chars: int
    lid_min_confidence: float
    use_lexicon: bool
    lexicon_dirs: tuple[str, ...]


@dataclass(frozen=True)
class ShardConfig:
    target_bytes: int
    row_group_bytes: int
    compression: str
    compression_level: int


@dataclass(frozen=True)
class BuildConfig:
    read: ReadConfig
    extract: ExtractConfig
    langid: LangIdConfig
    filters: FilterConfig
    near_dedup: NearDedupConfig
    repeated_lines: RepeatedLinesConfig
    quality: QualityConfig
    bitext: BitextConfig
    shards: ShardConfig

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def staging_fingerprint(self) -> str:
        """Hash of the settings that change what the per-input (staging) phase writes."""
        staged = {
            "read": dataclasses.asdict(self.read),
            "extract": dataclasses.asdict(self.extract),
            "langid": {"model": self.langid.model, "max_chars": self.langid.max_chars},
            "minhash": dataclasses.asdict(self.near_dedup.minhash()),
            "format": STAGING_FORMAT_VERSION,
        }
        blob = json.dumps(staged, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# Bump when the staging schema or the meaning of a staged column changes.
STAGING_FORMAT_VERSION = 5

_SECTIONS = {
    "read": ReadConfig,
    "extract": ExtractConfig,
    "langid": LangIdConfig,
    "filters": FilterConfig,
    "near_dedup": NearDedupConfig,
    "repeated_lines": RepeatedLinesConfig,
    "quality": QualityConfig,
    "bitext": BitextConfig,
    "shards": ShardConfig,
}


def _merge(defaults: dict, overrides: dict, where: str) -> dict:
    merged = dict(defaults)
    for key, value in overrides.items():
        name = f"{where}.{key}" if where else key
        if key not in defaults:
            raise ConfigError(f"unknown config key '{name}'")
        if isinstance(defaults[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{name}' must be a table")
            # Per-language tables accept new languages; other tables are closed.
            if key == "min_score":
                merged[key] = {**defaults[key], **value}
            elif key == "thresholds":
                merged[key] = {lang: {**defaults[key].get(lang, {}), **table} for lang, table in
                               {**{k: {} for k in defaults[key]}, **value}.items()}
            else:
                merged[key] = _merge(defaults[key], value, name)
        else:
            check_type(name, value, defaults[key])
            merged[key] = value
    return merged


def check_type(name: str, value, default) -> None:
    """A config value must have its default's type (an int may stand for a float, a bool never for
    an int)."""
    expected = type(default)
    ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
    if not ok or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"config key '{name}' must be {expected.__name__}, got {value!r}")


def read_toml(path: str | Path) -> dict:
    """A user's TOML file, or a one-line ConfigError saying why it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from e


def _build(tree: dict) -> BuildConfig:
    sections = {}
    for name, cls in _SECTIONS.items():
        values = {
            k: tuple(v) if isinstance(v, list) else v for k, v in tree[name].items()
        }
        if name == "langid":
            values["min_score"] = {k: float(v) for k, v in values["min_score"].items()}
        if name == "quality":
            values["thresholds"] = _thresholds(values["thresholds"])
        sections[name] = cls(**values)
    return BuildConfig(**sections)


def _thresholds(tables: dict) -> dict[str, dict[str, float]]:
    from transforms.quality import SIGNALS

    known = {f"{side}_{signal}" for side in ("min", "max") for signal in SIGNALS}
    out = {}
    for lang, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"config key 'quality.thresholds.{lang}' must be a table")
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"unknown config key 'quality.thresholds.{lang}.{key}' "
                                  f"(min_/max_ and a signal of transforms/quality.py)")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"config key 'quality.thresholds.{lang}.{key}' must be a number")
        out[lang] = {k: float(v) for k, v in table.items()}
    return out


def load_config(path: str | Path | None = None) -> BuildConfig:
    """The default configuration, overridden by the TOML file at `path` if given."""
    tree = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    if path is not None:
        tree = _merge(tree, read_toml(path), "")
    return _build(tree)


def config_from_dict(tree: dict) -> BuildConfig:
    """Rebuild a configuration from `BuildConfig.to_dict()` (e.g. as sent to Beam workers)."""
    return _build(tree)
