"""Torch datasets that turn tracklets into normalised clip tensors.

``TrainClipDataset`` is indexed by keys ``(epoch, tracklet, clip)`` (from
``reidlab.data.sampling.epoch_batches``), so frame choice and augmentation are a pure function
of (seed, epoch, tracklet, clip) — identical with any number of workers and after a resume.

A frame that cannot be decoded is never fatal in training: the nearest readable frame of the
same tracklet replaces it and the item reports the bad path in ``corrupt`` (newline-separated)
so the trainer can count and log it. A tracklet without any readable frame comes back with
``valid=False``; the trainer drops it from the batch with a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from reidlab.data.images import read_frame
from reidlab.data.sampling import clip_frame_indices, eval_frame_indices, item_rng
from reidlab.data.tracklets import Tracklet
from reidlab.errors import CorruptFrameError

Norm = tuple[Sequence[float], Sequence[float]]


def norm_params(input_norm) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) as float32 arrays of 3 from a ``((m,m,m),(s,s,s))`` pair or an object/dict
    with ``mean``/``std``. Values are on the [0, 1] pixel scale."""
    if isinstance(input_norm, dict):
        mean, std = input_norm["mean"], input_norm["std"]
    elif hasattr(input_norm, "mean") and hasattr(input_norm, "std"):
        mean, std = input_norm.mean, input_norm.std
    else:
        mean, std = input_norm
    return np.asarray(mean, np.float32).reshape(3), np.asarray(std, np.float32).reshape(3)


def to_tensor(frames: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """uint8 ...×H×W×3 → float ...×3×H×W normalised."""
    x = frames.astype(np.float32) / 255.0
    x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, -3)))


class FrameCache:
    """Decoded, resized frames kept in memory (least recently used first out) up to a byte
    budget: a small dataset (SynthCams' 8968 frames at 128×64 are 220 MB) is decoded once per
    process instead of once per epoch, evaluation and label update. The budget comes from
    ``$REIDLAB_FRAME_CACHE_MB`` (default 512; 0 turns the cache off). Cached arrays are
    read-only; readers stack copies of them. Entries are keyed by path, size and the file's
    modification time and length, so a rewritten file is decoded again."""

    def __init__(self, budget_mb: float | None = None):
        import os
        from collections import OrderedDict

        if budget_mb is None:
            try:
                budget_mb = float(os.environ.get("REIDLAB_FRAME_CACHE_MB", "512"))
            except ValueError:
                budget_mb = 512.0
        self.budget = int(max(budget_mb, 0) * 2**20)
        self.items: OrderedDict = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0

    def get(self, path: str, size) -> np.ndarray:
        import os

        try:  # a file rewritten in place (a regenerated dataset) is read again
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        key = (path, tuple(size) if size is not None else None, stamp)
        arr = self.items.get(key)
        if arr is not None:
            self.items.move_to_end(key)
            self.hits += 1
            return arr
        self.misses += 1
        arr = read_frame(path, size)  # CorruptFrameError propagates, nothing is cached
        if self.budget and arr.nbytes <= self.budget:
            arr.setflags(write=False)
            self.items[key] = arr
            self.bytes += arr.nbytes
            while self.bytes > self.budget:
                _, old = self.items.popitem(last=False)
                self.bytes -= old.nbytes
        return arr


_FRAME_CACHE: FrameCache | None = None


def frame_cache() -> FrameCache:
    """This process's frame cache (each DataLoader worker process has its own)."""
    global _FRAME_CACHE
    if _FRAME_CACHE is None:
        _FRAME_CACHE = FrameCache()
    return _FRAME_CACHE


class _FrameReader:
    """Reads frames of a tracklet, replacing unreadable ones by the nearest readable frame."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.bad: set[str] = set()  # known-bad paths (per process)

    def read(self, tracklet: Tracklet, idx: Sequence[int]) -> tuple[np.ndarray | None, list[str]]:
        """Frames ``idx`` of ``tracklet`` (T×H×W×3) and the bad paths met; ``None`` if no frame
        of the tracklet is readable."""
        out, newly_bad, cache = [], [], {}
        for i in idx:
            frame = self._read_near(tracklet, int(i), newly_bad, cache)
            if frame is None:
                return None, newly_bad
            out.append(frame)
        frames = np.stack(out)
        if tracklet.pseudo_infrared:
            from reidlab.data.tracklets import red_channel

            frames = red_channel(frames)
        return frames, newly_bad

    def _read_near(self, tracklet, i, newly_bad, cache):
        n = len(tracklet.frames)
        order = sorted(range(n), key=lambda j: (abs(j - i), j))
        for j in order:
            if j in cache:
                return cache[j]
            path = str(tracklet.frames[j])
            if path in self.bad:
                continue
            try:
                cache[j] = frame_cache().get(path, self.size)
                return cache[j]
            except CorruptFrameError:
                self.bad.add(path)
                newly_bad.append(path)
        return None


ERASE_AREA = (0.02, 0.4)  # random erasing (Zhong et al. 2020): area fraction of the box
ERASE_ASPECT = 0.3  # and its aspect ratio h/w in [0.3, 1/0.3]; 100 tries


def erase_box(size: tuple[int, int], rng: np.random.Generator, tries: int = 100
              ) -> tuple[int, int, int, int] | None:
    """The box ``(y, x, h, w)`` of random erasing in an image of ``size`` (H, W): an area of
    2–40 % of the image and an aspect ratio h/w in [0.3, 3.33], placed at random; ``None``
    when no box fits in ``tries`` draws (the code bases' defaults: torchreid, CAP, SpCL)."""
    height, width = size
    for _ in range(tries):
        area = rng.uniform(*ERASE_AREA) * height * width
        aspect = rng.uniform(ERASE_ASPECT, 1.0 / ERASE_ASPECT)
        h = int(round(np.sqrt(area * aspect)))
        w = int(round(np.sqrt(area / aspect)))
        if 0 < h < height and 0 < w < width:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    return None


class TrainClipDataset(Dataset):
    """Training clips. ``ds[(epoch, t, c)]`` → dict with ``clips`` T×3×H×W, ``camid``, ``pid``,
    ``index`` (= t), ``clip`` (= c), ``domain`` (0 target, 1 source), ``frame_pos`` (T frame
    indices inside the tracklet), ``valid``, ``corrupt``.
    """

    def __init__(self, tracklets: Sequence[Tracklet], cfg, input_norm, augment: bool = True):
        self.tracklets = list(tracklets)
        self.T = int(cfg.frames_per_clip)
        self.N = int(cfg.clips_per_tracklet)
        self.clip_mode = str(getattr(cfg, "clip_mode", "interleaved"))
        self.seed = int(cfg.seed)
        self.size = (int(cfg.height), int(cfg.width))
        self.hflip = bool(getattr(cfg, "hflip", False)) and augment
        self.crop_pad = int(getattr(cfg, "crop_pad", 0)) if augment else 0
        self.random_erase = float(getattr(cfg, "random_erase", 0.0) or 0.0) if augment else 0.0
        self.mean, self.std = norm_params(input_norm)
        self.reader = _FrameReader(self.size)

    def __len__(self) -> int:
        return len(self.tracklets) * self.N

    def __getitem__(self, key) -> dict:
        epoch, t, c = (int(k) for k in key)
        tr = self.tracklets[t]
        rng = item_rng(self.seed, epoch, t, c)
        idx = clip_frame_indices(len(tr), self.T, rng, clip=c, num_clips=self.N,
                                 mode=self.clip_mode)
        flip = self.hflip and rng.random() < 0.5
        dy, dx = (rng.integers(0, 2 * self.crop_pad + 1, size=2) if self.crop_pad else (0, 0))
        frames, bad = self.reader.read(tr, idx)
        valid = frames is not None
        if not valid:
            frames = np.zeros((self.T, *self.size, 3), np.uint8)
        if flip:
            frames = frames[:, :, ::-1]
        if self.crop_pad:
            p = self.crop_pad
            padded = np.pad(frames, ((0, 0), (p, p), (p, p), (0, 0)))
            frames = padded[:, dy:dy + self.size[0], dx:dx + self.size[1]]
        if self.random_erase > 0 and rng.random() < self.random_erase:
            box = erase_box(self.size, rng)
            if box is not None:
                y, x, h, w = box
                frames = frames.copy()
                frames[:, y:y + h, x:x + w] = np.round(self.mean * 255).astype(np.uint8)
        return {
            "clips": to_tensor(frames, self.mean, self.std),
            "camid": tr.camid,
            "pid": tr.pid,
            "index": t,
            "clip": c,
            "domain": tr.domain,
            "modality": tr.modality,
            "frame_pos": torch.from_numpy(idx.astype(np.int64)),
            "valid": valid,
            "corrupt": "\n".join(bad),
        }


def train_loader(dataset: TrainClipDataset, batches: list[list[tuple[int, int]]], epoch: int,
                 num_workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """A DataLoader over the given epoch's batches of ``(tracklet, clip)`` items (pinned
    memory for a GPU: the copy to the device then overlaps the step)."""
    keyed = [[(epoch, t, c) for t, c in b] for b in batches]
    return DataLoader(dataset, batch_sampler=keyed, num_workers=num_workers,
                      pin_memory=pin_memory,
                      generator=torch.Generator().manual_seed(0))  # keep global RNG untouched


class EvalTrackletDataset(Dataset):
    """Whole tracklets for feature extraction: ``ds[i]`` → ``clips`` C×T×3×H×W (evenly spaced
    frames, all of them or up to ``cfg.eval_frames``), ``camid``, ``pid``, ``index``, ``valid``,
    ``corrupt``."""

    def __init__(self, tracklets: Sequence[Tracklet], cfg, input_norm):
        self.tracklets = list(tracklets)
        self.T = int(cfg.frames_per_clip)
        self.max_frames = int(getattr(cfg, "eval_frames", 0) or 0)
        self.size = (int(cfg.height), int(cfg.width))
        self.mean, self.std = norm_params(input_norm)
        self.reader = _FrameReader(self.size)
        self.raw = False  # True: items carry JPEG bytes for decode_on_device

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, i: int) -> dict:
        if self.raw:
            return self.encoded(i)
        return self.decoded(i)

    def encoded(self, i: int) -> dict:
        """The item with the frames' undecoded JPEG bytes (``jpeg``, C·T uint8 tensors) in place
        of ``clips``, for decoding on the device (``decode_on_device``); a frame that cannot be
        read, or a non-JPEG tracklet, gives the decoded item instead."""
        tr = self.tracklets[i]
        idx = eval_frame_indices(len(tr), self.T, self.max_frames)
        paths = [str(tr.frames[int(j)]) for j in idx.reshape(-1)]
        if not all(p.lower().endswith((".jpg", ".jpeg")) for p in paths):
            return self.decoded(i)
        try:
            data = [torch.from_numpy(np.fromfile(p, dtype=np.uint8)) for p in paths]
        except OSError:
            return self.decoded(i)
        return {"jpeg": data, "shape": tuple(idx.shape), "camid": tr.camid, "pid": tr.pid,
                "index": i, "valid": True, "modality": tr.modality, "corrupt": "",
                "red": bool(tr.pseudo_infrared)}

    def decoded(self, i: int) -> dict:
        tr = self.tracklets[i]
        idx = eval_frame_indices(len(tr), self.T, self.max_frames)
        frames, bad = self.reader.read(tr, idx.reshape(-1))
        valid = frames is not None
        if not valid:
            frames = np.zeros((idx.size, *self.size, 3), np.uint8)
        clips = to_tensor(frames, self.mean, self.std).reshape(*idx.shape, 3, *self.size)
        return {"clips": clips, "camid": tr.camid, "pid": tr.pid, "index": i, "valid": valid,
                "modality": tr.modality, "corrupt": "\n".join(bad)}


def decode_clips_on_device(items: list[dict], ds: "EvalTrackletDataset",
                           device: torch.device) -> list[dict]:
    """Turn the ``jpeg`` items of a batch into ``clips`` on ``device``: one batched
    ``torchvision.io.decode_jpeg`` (nvJPEG on a GPU), an antialiased bilinear resize to the
    model's size there (PIL's ``BILINEAR`` also antialiases when it shrinks), the pseudo-infrared
    red channel and the normalisation. A batch whose decoding fails (a corrupt or truncated
    frame) is decoded again on the host, frame by frame, where bad frames are replaced and
    reported as always."""
    from torchvision.io import ImageReadMode, decode_jpeg

    raw = [k for k, it in enumerate(items) if "jpeg" in it]
    if not raw:
        return items
    data = [d for k in raw for d in items[k]["jpeg"]]
    try:
        with warnings.catch_warnings():  # torchvision 0.29 points to TorchCodec; still works
            warnings.simplefilter("ignore", DeprecationWarning)
            images = decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        return [ds.decoded(it["index"]) if "jpeg" in it else it for it in items]
    h, w = ds.size
    out = [it if "jpeg" in it else {**it, "clips": it["clips"].to(device)} for it in items]
    mean = torch.as_tensor(ds.mean, device=device).view(1, 3, 1, 1)
    std = torch.as_tensor(ds.std, device=device).view(1, 3, 1, 1)
    pos = 0
    for k in raw:
        it = items[k]
        n = len(it["jpeg"])
        x = _resized(images[pos:pos + n], h, w)
        pos += n
        if it["red"]:
            x = x[:, :1].expand(-1, 3, -1, -1)
        x = (x / 255.0 - mean) / std
        c, t = it["shape"]
        out[k] = {**{key: v for key, v in it.items() if key not in ("jpeg", "shape", "red")},
                  "clips": x.reshape(c, t, 3, h, w)}
    return out


def _resized(images: list[torch.Tensor], h: int, w: int) -> torch.Tensor:
    """Decoded uint8 3×h'×w' frames → float N×3×h×w on their device, 0..255: one antialiased
    bilinear resize for frames of one size (a tracklet's, as a rule), rounded like PIL's
    uint8 output; frames already h×w pass untouched."""
    sizes = {tuple(img.shape[-2:]) for img in images}
    if len(sizes) > 1:
        return torch.cat([_resized([img], h, w) for img in images])
    x = torch.stack(images).float()
    if sizes != {(h, w)}:
        x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", antialias=True,
                                            align_corners=False).round().clamp_(0, 255)
    return x


def collate_tracklets(items: list[dict]) -> dict:
    """Concatenate the clips of several tracklets; ``owner[j]`` is the item of clip j."""
    return {
        "clips": torch.cat([it["clips"] for it in items]),
        "owner": torch.cat([torch.full((len(it["clips"]),), k) for k, it in enumerate(items)]),
        "camid": torch.tensor([it["camid"] for it in items]),
        "pid": torch.tensor([it["pid"] for it in items]),
        "index": torch.tensor([it["index"] for it in items]),
        # per clip, like ``owner``: a two-stream model routes each clip by its modality
        "modality": torch.cat([torch.full((len(it["clips"]),), int(it.get("modality", 0)))
                               for it in items]),
        "valid": torch.tensor([it["valid"] for it in items]),
        "corrupt": [p for it in items for p in it["corrupt"].split("\n") if p],
    }


@dataclass
class Embedded:
    """Embeddings of the readable tracklets of a list."""

    feat: np.ndarray  # n×D float32
    index: np.ndarray  # n, positions in the input list
    pids: np.ndarray
    camids: np.ndarray
    corrupt: list[str] = field(default_factory=list)  # unreadable frame paths met
    dropped: list[int] = field(default_factory=list)  # tracklets without any readable frame


EVAL_IMAGES_PER_BATCH = 64


def eval_tracklets_per_batch(tracklets: Sequence[Tracklet], frames_per_clip: int,
                             max_frames: int) -> int:
    """Tracklets per extraction batch: 8 (as always for videos), or more for short tracklets so
    that a batch holds about ``EVAL_IMAGES_PER_BATCH`` frames (by the median tracklet)."""
    if not tracklets:
        return 1
    median = int(np.median([len(t) for t in tracklets]))
    frames = max(1, int(eval_frame_indices(max(median, 1), frames_per_clip, max_frames).size))
    return max(8, EVAL_IMAGES_PER_BATCH // frames)


def embed_takes(embed_fn: Callable, what: str) -> bool:
    """Whether ``embed_fn`` takes the keyword ``what`` ("modality", "camid"): declared as
    ``takes_<what>`` by the object it is a bound method of (a ``Method`` subclass, a run's
    ``RunModel``), or marked on a plain function itself."""
    owner = getattr(embed_fn, "__self__", None)
    declared = getattr(owner, f"takes_{what}", None) if owner is not None else None
    if declared is None:
        declared = getattr(embed_fn, f"takes_{what}", False)
    return bool(declared)


def embed_tracklets(embed_fn: Callable[[torch.Tensor], torch.Tensor],
                    tracklets: Sequence[Tracklet], cfg, input_norm, device="cpu",
                    progress: Callable[[int, int], None] | None = None,
                    tracklets_per_batch: int | None = None,
                    autocast: bool = False, decode: str | None = None) -> Embedded:
    """Embed each tracklet as the mean of the embeddings of its clips (see
    ``EvalTrackletDataset``). ``embed_fn`` maps clips B×T×3×H×W to B×D.

    ``embed_fn`` gets each clip's modality as the keyword ``modality`` when it takes it (see
    :func:`embed_takes`: a method's ``Method.takes_modality``), and each clip's camera as
    ``camid`` when it takes that (``Method.takes_camid``: a camera-specific BN-neck).

    ``tracklets_per_batch`` (default: about ``EVAL_IMAGES_PER_BATCH`` frames per forward pass)
    only changes the speed: in eval mode every clip is embedded on its own. The default keeps
    8 video tracklets per pass and packs 64 one-frame "tracklets" of an image dataset
    (Market-1501, SYSU-MM01, ...) into one, rather than 8.

    ``decode``: "host" (the data-loading processes decode with PIL, through the frame cache) or
    "device" (they only read the JPEG bytes; :func:`decode_clips_on_device` decodes and resizes
    the batch on ``device``); default "device" when ``cfg.decode_on_device`` and ``device`` is a
    GPU. The two agree to a few grey levels where frames are resized (different resampling
    code), exactly where they are not."""
    ds = EvalTrackletDataset(tracklets, cfg, input_norm)
    device = torch.device(device)
    if decode is None:
        decode = "device" if bool(getattr(cfg, "decode_on_device", False)) and \
            device.type == "cuda" else "host"
    if decode not in ("host", "device"):
        raise ValueError(f"decode: expected 'host' or 'device', got {decode!r}")
    ds.raw = decode == "device"
    if tracklets_per_batch is None:
        tracklets_per_batch = eval_tracklets_per_batch(tracklets, ds.T, ds.max_frames)
    dl = DataLoader(ds, batch_size=tracklets_per_batch,
                    collate_fn=list if ds.raw else collate_tracklets,
                    num_workers=int(getattr(cfg, "num_workers", 0)),
                    pin_memory=device.type == "cuda",
                    generator=torch.Generator().manual_seed(0))
    feats, index, corrupt, dropped = [], [], [], []
    done = 0
    for batch in dl:
        if ds.raw:
            batch = collate_tracklets(decode_clips_on_device(batch, ds, device))
        with torch.no_grad(), torch.autocast(device.type, enabled=autocast):
            clips = batch["clips"].to(device, non_blocking=True)
            kw = {}
            if embed_takes(embed_fn, "modality"):  # two-stream models (xmodal_adv)
                kw["modality"] = batch["modality"].to(device)
            if embed_takes(embed_fn, "camid"):  # camera-specific BN (camera_bn)
                kw["camid"] = batch["camid"][batch["owner"]].to(device)
            f = embed_fn(clips, **kw).float().cpu()
        owner = batch["owner"]
        n = len(batch["index"])
        sums = torch.zeros(n, f.shape[1]).index_add_(0, owner, f)
        counts = torch.bincount(owner, minlength=n).clamp_min(1).unsqueeze(1)
        mean = sums / counts
        valid = batch["valid"]
        feats.append(mean[valid].numpy())
        index.append(batch["index"][valid].numpy())
        dropped.extend(batch["index"][~valid].tolist())
        corrupt.extend(batch["corrupt"])
        done += n
        if progress is not None:
            progress(done, len(ds))
    idx = np.concatenate(index) if index else np.zeros(0, np.int64)
    feat = np.concatenate(feats).astype(np.float32) if feats else np.zeros((0, 0), np.float32)
    return Embedded(
        feat=feat,
        index=idx.astype(np.int64),
        pids=np.array([tracklets[i].pid for i in idx], np.int64),
        camids=np.array([tracklets[i].camid for i in idx], np.int64),
        corrupt=corrupt,
        dropped=dropped,
    )
