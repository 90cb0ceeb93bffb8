import pytest

from transforms.config import ConfigError, config_from_dict, load_config


def test_defaults_are_documented_and_typed():
    config = load_config()
    assert config.langid.threshold("xx") == config.langid.min_score["default"] == 0.5
    assert config.shards.compression == "zstd"
    assert config.langid.model_path().endswith("lid.176.ftz")
    assert config_from_dict(config.to_dict()) == config


def test_unknown_key_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text("[filters]\nmin_charz = 10\n")
    with pytest.raises(ConfigError, match="filters.min_charz"):
        load_config(bad)
    bad.write_text("[nonsense]\nx = 1\n")
    with pytest.raises(ConfigError, match="'nonsense'"):
        load_config(bad)


def test_wrong_type_and_bad_toml(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text('[filters]\nmin_chars = "many"\n')
    with pytest.raises(ConfigError, match="'filters.min_chars' must be int"):
        load_config(bad)
    bad.write_text("[filters\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_staging_fingerprint_changes_only_with_staging_settings(tmp_path):
    base = load_config()
    global_only = tmp_path / "g.toml"
    global_only.write_text("[filters]\nmin_chars = 10\n[langid.min_score]\nde = 0.9\n[shards]\ntarget_bytes = 1000\n")
    staged = tmp_path / "s.toml"
    staged.write_text("[langid]\nmax_chars = 100\n")
    assert load_config(global_only).staging_fingerprint() == base.staging_fingerprint()
    assert load_config(staged).staging_fingerprint() != base.staging_fingerprint()
