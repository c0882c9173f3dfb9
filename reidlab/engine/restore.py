"""Rebuild a run's trained model from its store, for figures that need the network itself.

``load_run_model(run)`` rebuilds the method from the run's ``config.json`` (method, backbone,
K, …, and the training tracklets / cameras of the stored dataset, which size the heads) and
loads ``checkpoint.pt`` with ``torch.load(weights_only=True)``. A run without a checkpoint
(the "ImageNet init" baseline, or a run still in its first epoch) gives the initial network of
its config instead, and says so in ``RunModel.source``. :func:`run_part_masks` turns frames
into the PAM's part masks (K-means, ordered head→legs) and strict stripes — what the Part masks
page and ``python -m reidlab export`` show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reidlab.engine.runs import CHECKPOINT, Run
from reidlab.errors import ReidlabError

TRAINED = "trained (checkpoint.pt)"
INITIAL = "initial network (no checkpoint)"


class RestoreError(ReidlabError):
    """A run's checkpoint could not be loaded into the model its config describes."""


@dataclass
class RunModel:
    """A run's network in eval mode. ``source`` is :data:`TRAINED` or :data:`INITIAL`;
    ``epoch`` is the checkpoint's epoch (0 without one); ``size`` is the input (height, width)."""

    net: object
    size: tuple[int, int]
    source: str
    epoch: int = 0
    method: object | None = None  # the whole method (heads, memories) when trained
    # embed_tracklets passes :meth:`embed` each clip's modality and camera (not fields)
    takes_modality = True
    takes_camid = True

    @property
    def trained(self) -> bool:
        return self.source == TRAINED

    def embed(self, clips, modality=None, camid=None):
        """The retrieval embedding the run was evaluated with: the method's own ``embed``
        (e.g. CAWCL's ℓ2-normalised f; a two-stream model routes each clip by ``modality``; a
        camera-specific BN-neck normalises each clip with its ``camid``'s statistics) when
        trained, the network's f otherwise."""
        import torch

        with torch.no_grad():
            if self.method is not None:
                kw = {}
                if self.method.takes_modality:
                    kw["modality"] = modality
                if self.method.takes_camid:
                    kw["camid"] = camid
                return self.method.embed(clips, **kw)
            return self.net(clips)["feat"]


def load_run_model(run: Run | str | Path, device: str = "cpu") -> RunModel:
    """The network of ``run``: trained weights from ``checkpoint.pt`` when present, else the
    initial network of its config (ImageNet weights when ``pretrained``)."""
    import torch

    run = run if isinstance(run, Run) else Run(run)
    cfg = run.train_config()
    size = (int(cfg.height), int(cfg.width))
    ck_path = run.path / CHECKPOINT
    if not ck_path.is_file():
        from reidlab.models.reid_net import build_net

        net = build_net(cfg)
        return RunModel(net.to(device).eval(), size, INITIAL, 0)

    from reidlab.engine.trainer import load_source
    from reidlab.methods import build_method

    data = run.dataset()
    src = load_source(cfg)
    method = build_method(cfg, data.train, data.num_cameras,
                          source=src.train if src is not None else None)
    try:
        ck = torch.load(ck_path, map_location=device, weights_only=True)
        method.load_state_dict(ck["model"])
    except (RuntimeError, KeyError, OSError, ValueError, EOFError) as e:
        K = getattr(cfg, "K", None)  # only PAM methods have parts
        k_text = f", K={K}" if K is not None else ""
        raise RestoreError(f"{ck_path}: expected a complete checkpoint of a {cfg.method} model "
                           f"(backbone {cfg.backbone}{k_text}) for dataset "
                           f"{run.config['dataset'].get('root')}; loading failed: "
                           f"{type(e).__name__}: {str(e)[:300]}") from e
    method.to(device).eval()
    if getattr(cfg, "channels_last", False):
        method.to(memory_format=torch.channels_last)
    return RunModel(method.net, size, TRAINED, int(ck.get("epoch", 0)), method)


def run_part_masks(model: RunModel, frames: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kmeans, strict)`` part masks, each N×K×h×w float32, of uint8 frames N×H×W×3 (already
    at ``model.size``). K-means parts are ordered head→legs (by centroid height)."""
    import torch

    from reidlab.data.loader import norm_params, to_tensor
    from reidlab.models.pam import part_masks

    if frames.ndim != 4 or frames.shape[1:3] != tuple(model.size):
        raise ValueError(f"frames: expected N×{model.size[0]}×{model.size[1]}×3 uint8, got "
                         f"shape {frames.shape}")
    mean, std = norm_params(model.net.input_norm)
    x = to_tensor(frames, mean, std)
    device = next(model.net.parameters()).device
    with torch.no_grad():
        km = part_masks(model.net, x.to(device), K, parts="kmeans").float().cpu().numpy()
        strict = part_masks(model.net, x.to(device), K, parts="strict").float().cpu().numpy()
    return km, strict


__all__ = ["RunModel", "RestoreError", "TRAINED", "INITIAL", "load_run_model", "run_part_masks"]
