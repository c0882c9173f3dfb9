"""A new method is one class (issue 25 part 2): a throw-away method defined in this file only,
registered by name, is found by the CLI, the Train form, the Ablations page's tags and the
leaderboard's rows, with no other file edited; and a name cannot be registered twice."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from test_pages_runs import ROOT, TIMEOUT, data_root, lab, no_errors  # noqa: F401 (fixtures)

from reidlab.methods import METHODS, LeaderboardRow, register, unregister
from reidlab.methods.supervised import Supervised, SupervisedOptions
from reidlab.schema import option

NAME = "throwaway_contract"


@dataclass
class ThrowawayOptions(SupervisedOptions):
    smoke_level: int = option(2, "a throw-away option (tests/test_method_contract.py)")


class Throwaway(Supervised):
    """The supervised bound with one more option and its own leaderboard rows and tags."""

    Options = ThrowawayOptions
    leaderboard_rows = (
        LeaderboardRow("throwaway_plain", "true identities (a test's own method)", order=12),
        LeaderboardRow("throwaway_smoky", "true identities, smoky", {"smoke_level": 5},
                       {"warmup_epochs": 1}, order=500),
    )

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        level = int(settings.get("smoke_level", 2))
        return [f"smoke {level}"] if level != 2 else []


@pytest.fixture
def throwaway():
    """The throw-away method, registered for one test and unregistered after it."""
    cls = register(NAME)(Throwaway)
    try:
        yield cls
    finally:
        unregister(NAME)
    assert NAME not in METHODS


def test_register_refuses_a_duplicate_name(throwaway):
    class Again(Supervised):
        pass

    with pytest.raises(ValueError, match=f"{NAME}.*already registered"):
        register(NAME)(Again)
    assert METHODS[NAME] is Throwaway
    with pytest.raises(ValueError, match="'supervised' is already registered"):
        register("supervised")(Again)
    assert METHODS["supervised"] is Supervised


def test_the_cli_offers_it_and_its_options(throwaway, tmp_path):
    from reidlab.cli import build_parser
    from reidlab.engine.cli_train import config_from_args

    argv = ["train", "--method", NAME, "--preset", "test", "--smoke-level", "7",
            "--out", str(tmp_path / "run")]
    parser = build_parser(argv)
    train = parser._subparsers._group_actions[0].choices["train"]
    method_flag = next(a for a in train._actions if "--method" in a.option_strings)
    assert NAME in method_flag.choices
    args = parser.parse_args(argv)
    cfg = config_from_args(args, dataset="data/anything")
    assert cfg.method == NAME and cfg.options["smoke_level"] == 7
    assert cfg.options["triplet_weight"] == 1.0  # the parent's options come along


def test_the_train_form_offers_it_as_its_class_says(throwaway, lab, monkeypatch):  # noqa: F811
    """The Train page (on test_pages_runs' tiny dataset and empty runs folder) lists the
    method, shows its options, and offers camera_bn and a source as its class declares."""
    from streamlit.testing.v1 import AppTest

    from reidlab.engine.config import setting_applies

    def form():
        at = AppTest.from_file(str(ROOT / "app_pages/2_Train.py"), default_timeout=TIMEOUT)
        at.run()
        method = next(s for s in at.selectbox if s.label == "method")
        assert NAME in method.options
        method.set_value(NAME).run()
        no_errors(at)
        return {w.label for kind in ("selectbox", "number_input", "checkbox", "text_input")
                for w in at.get(kind)}

    assert not setting_applies("camera_bn", NAME)
    labels = form()
    assert {"smoke_level", "triplet_weight", "label_smoothing"} <= labels  # its Options
    assert "camera bn" not in labels and not any(x.startswith("source dataset") for x in labels)
    # the form follows the class's declarations: a camera-specific BN-neck and a source
    monkeypatch.setattr(Throwaway, "supports_camera_bn", True)
    monkeypatch.setattr(Throwaway, "accepts_source", True)
    assert setting_applies("camera_bn", NAME)
    labels = form()
    assert "camera bn" in labels and any(x.startswith("source dataset") for x in labels)


def test_the_ablations_page_tags_it(throwaway):
    import ast
    from pathlib import Path

    from reidlab.methods import variant_name

    assert variant_name({"method": NAME, "options": {"smoke_level": 4}}) == f"{NAME} smoke 4"
    assert variant_name({"method": NAME, "smoke_level": 2, "source": "b"}) == f"{NAME} UDA"
    # the page names its runs with this function, not a list of its own
    page = Path(__file__).resolve().parents[1] / "app_pages" / "7_Ablations.py"
    calls = {n.func.id for n in ast.walk(ast.parse(page.read_text()))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "variant_name" in calls


def test_the_leaderboard_has_its_rows_in_their_order(throwaway):
    import leaderboard

    rows, kinds = leaderboard.rows(), leaderboard.kinds()
    names = list(rows)
    assert names.index("supervised_bot") < names.index("throwaway_plain") \
        < names.index("padal_id")  # order 12: between the bounds and PADAL
    assert names[-1] == "throwaway_smoky"  # order 500: after every other row
    assert rows["throwaway_plain"] == {"method": NAME}
    assert rows["throwaway_smoky"] == {"method": NAME, "options": {"smoke_level": 5},
                                       "config": {"warmup_epochs": 1}}
    assert kinds["throwaway_smoky"] == "true identities, smoky"
    assert leaderboard.ROWS == rows and leaderboard.KIND == kinds
    # a subclass registered under another name does not inherit its parent's rows
    assert "supervised" in rows and sum(r.get("method") == NAME for r in rows.values()) == 2


def test_the_leaderboard_without_it_is_the_published_table():
    """The rows the methods declare are the rows of bench/results/leaderboard.json, in order,
    with the same options."""
    import json
    from pathlib import Path

    import leaderboard

    published = json.loads((Path(__file__).resolve().parents[1] / "bench" / "results"
                            / "leaderboard.json").read_text())["rows"]
    rows = leaderboard.rows()
    seen = list(dict.fromkeys(r["row"] for r in published))
    assert [n for n in rows if n in seen] == seen
    for r in published:
        if r["row"] != "imagenet":
            assert rows[r["row"]]["method"] == r["method"]
            assert rows[r["row"]].get("options", {}) == r["options"]
