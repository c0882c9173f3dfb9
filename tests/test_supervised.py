"""The supervised upper bound: true cross-camera identities, CE + batch-hard triplet."""

import pytest

from tiny_mars import write_tiny_mars

from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods import METHODS


def test_supervised_uses_true_identities_across_cameras(tmp_path):
    data = write_tiny_mars(tmp_path / "mars", train_ids=5, test_ids=3, frames=(4, 8))
    cfg = make_config("test", dataset=str(data), method="supervised", batch_size=8,
                      num_instances=2)
    assert cfg.sampler == "pk"
    run = Run(train(cfg, tmp_path / "sup"))
    assert run.status()["state"] == "finished"
    assert {"id", "triplet"} <= set(run.metrics("epoch")[-1]["terms"])
    ds = run.dataset()
    m = METHODS["supervised"](cfg, ds.train, ds.num_cameras)
    groups = m.sampler_groups(0)
    # one group per person, spanning that person's cameras
    for t, g in zip(ds.train, groups):
        same = [u for u, h in zip(ds.train, groups) if h == g]
        assert {u.pid for u in same} == {t.pid}
    assert max(len({u.camid for u, h in zip(ds.train, groups) if h == g}) for g in groups) > 1
    with pytest.raises(ConfigError, match="label_smoothing"):
        make_config("test", dataset=str(data), method="supervised",
                    options={"label_smoothing": 1.5})
        METHODS["supervised"].parse_options({"label_smoothing": 1.5})
