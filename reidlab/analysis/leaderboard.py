"""The leaderboard of the runs on disk (the Ablations page; ``bench/leaderboard.py`` writes the
benchmark's own): one row per method variant, mean ± std over its runs (seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("rank1", "rank5", "mAP", "mINP")


def leaderboard_table(rows: list[dict], metrics=METRICS, extra=()) -> pd.DataFrame:
    """``rows``: one dict per run with ``variant`` and the metric values (percent). Returns one
    row per variant with ``runs`` (how many), ``<metric>`` (mean) and ``<metric>_std``
    (sample standard deviation; NaN for one run), ordered by mean mAP, best first (ties:
    variant name). Runs without a variant or without any metric are left out; ``extra``
    names more numeric columns averaged the same way (e.g. the camera probe)."""
    keys = list(metrics) + list(extra)
    data = [r for r in rows if r.get("variant") and any(r.get(k) is not None for k in keys)]
    cols = ["variant", "runs"] + [c for k in keys for c in (k, f"{k}_std")]
    if not data:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([{k: r.get(k) for k in ["variant", *keys]} for r in data])
    for k in keys:
        df[k] = pd.to_numeric(df[k], errors="coerce")
    g = df.groupby("variant", sort=True)
    out = pd.DataFrame({"runs": g.size()})
    for k in keys:
        out[k] = g[k].mean()
        out[f"{k}_std"] = g[k].std(ddof=1)
    out = out.reset_index()
    order = "mAP" if "mAP" in keys else keys[0]
    out = out.sort_values([order, "variant"], ascending=[False, True], kind="stable",
                          na_position="last").reset_index(drop=True)
    return out[cols]


def mean_std_text(table: pd.DataFrame, keys=METRICS, digits: int = 1) -> pd.DataFrame:
    """The table with ``<metric>`` as "mean ± std" text (just the mean for one run)."""
    out = table[["variant", "runs"]].copy()
    for k in keys:
        if k not in table:
            continue
        out[k] = [("—" if pd.isna(m) else f"{m:.{digits}f}") if pd.isna(s)
                  else f"{m:.{digits}f} ± {s:.{digits}f}" for m, s in zip(table[k], table[f"{k}_std"])]
    return out

