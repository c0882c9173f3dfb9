"""The one settings schema: every flag of ``reidlab train --help`` is generated from
``TrainConfig`` and the methods' ``Options`` and reaches the config that a run stores; one
parser of KEY=VALUE; one coercion of values."""

from __future__ import annotations

import dataclasses

import pytest

from reidlab.engine.cli_train import (OPT_PREFIX, SPECIAL, config_from_args,
                                      configure_parser, method_option_flags, setting_fields)
from reidlab.engine.config import TrainConfig, make_config
from reidlab.errors import ConfigError
from reidlab.schema import (allowed_types, choices_of, coerce, default_of, flag_of,
                            parse_kv)

import argparse


def parser():
    p = argparse.ArgumentParser()
    configure_parser(p)
    return p


def other_value(f: dataclasses.Field, current=None):
    """A valid value of the field that differs from its default (and ``current``), as text."""
    d = default_of(f) if current is None else current
    choices = choices_of(f)
    if choices:
        return str(next(c for c in choices if c != d))
    types = allowed_types(f)
    if bool in types:
        return "off" if d else "on"
    if int in types:
        return str((d or 0) + 1)
    if float in types:
        return str(round((d or 0.0) * 0.5 + 0.125, 6))
    if str in types:
        return "x"
    return None


def test_every_train_flag_reaches_the_config(tmp_path):
    """Walk every generated TrainConfig flag of ``train --help``: a non-default value given on
    the command line is in the config the trainer stores (``cfg.to_dict()``)."""
    p = parser()
    ds = str(tmp_path)
    flags = {a.dest: a for a in p._actions}
    walked = 0
    for f in setting_fields():
        assert f.name in flags, f"no flag for setting {f.name}"
        value = other_value(f)
        if bool in allowed_types(f):
            argv = [flag_of(f) if value == "on" else "--no-" + flag_of(f)[2:]]
        else:
            argv = [flag_of(f), value]
        if f.name == "method":
            argv = ["--method", "padal_mp"]
        if f.name == "camera_bn":  # only a method with a camera-specific BN-neck takes it
            argv += ["--method", "cap"]
        args = p.parse_args(["--dataset", ds, "--out", "x", *argv])
        cfg = config_from_args(args)
        want = coerce("setting", f, "padal_mp" if f.name == "method" else value)
        assert cfg.to_dict()[f.name] == want, (f.name, argv, cfg.to_dict()[f.name])
        walked += 1
    assert walked == len(dataclasses.fields(TrainConfig)) - len(SPECIAL)
    # the decode_on_device flag that a hand-kept map once dropped
    cfg = config_from_args(p.parse_args(["--dataset", ds, "--out", "x", "--decode-on-device"]))
    assert cfg.decode_on_device is True


def test_every_method_option_flag_reaches_the_options(tmp_path):
    """Each method option flag sets that option of every method that has it."""
    p = parser()
    ds = str(tmp_path)
    checked = 0
    for opt, owners in method_option_flags().items():
        dest = OPT_PREFIX + opt
        action = next((a for a in p._actions if a.dest == dest), None)
        for method, f in owners:
            value = "1,2;3,4" if opt == "partial_domains" else other_value(f)
            if value is None:
                continue
            argv = (["--" + opt.replace("_", "-"), value] if action is not None
                    else ["--opt", f"{opt}={value}"])
            args = p.parse_args(["--dataset", ds, "--out", "x", "--method", method, *argv])
            try:
                cfg = config_from_args(args)
            except ConfigError as e:  # a value the option's own validate() refuses
                assert opt in str(e) or method in str(e), e
                continue
            want = coerce(f"{method} option", f, value)
            assert cfg.options[opt] == want, (method, opt, cfg.options[opt], want)
            checked += 1
    assert checked > 50


def test_kv_parser_and_coercion():
    assert parse_kv("lam=0.3") == ("lam", "0.3")
    assert parse_kv("num-instances = 8") == ("num_instances", "8")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_kv("lam")
    fields = TrainConfig.__dataclass_fields__
    assert coerce("setting", fields["epochs"], "3") == 3
    assert coerce("setting", fields["lr"], "1e-3") == 1e-3
    assert coerce("setting", fields["hflip"], "off") is False
    assert coerce("setting", fields["preset"], None) is None
    with pytest.raises(ConfigError, match="epochs='2.5'"):
        coerce("setting", fields["epochs"], "2.5")
    with pytest.raises(ConfigError, match="expected one of"):
        coerce("setting", fields["backbone"], "vgg")
    # make_config reads strings as the declared types and refuses bad values up front
    cfg = make_config("test", epochs="2", hflip="false", lr="0.001")
    assert (cfg.epochs, cfg.hflip, cfg.lr) == (2, False, 0.001)
    with pytest.raises(ConfigError, match="method='padal_zz'"):
        make_config("test", method="padal_zz")


def test_settings_out_of_range_or_without_a_taker_are_refused():
    with pytest.raises(ConfigError, match="random_erase=1.5"):
        make_config("test", random_erase=1.5)
    with pytest.raises(ConfigError, match="camera_bn: method padal_mp"):
        make_config("test", method="padal_mp", camera_bn=True)
    assert make_config("test", method="cap", camera_bn=True).camera_bn is True
