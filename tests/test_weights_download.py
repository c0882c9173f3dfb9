"""ImageNet weights the way users get them, against a local HTTP server on 127.0.0.1 (never the
internet): download into the torch cache with a checksum, offline refusal, failed / corrupt /
partial downloads that leave nothing; and the ResNet-50-IBN-a architecture."""

from __future__ import annotations

import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from reidlab.errors import ConfigError
from reidlab.models import backbones
from reidlab.models.backbones import build_backbone, fetch_weights, imagenet_status


class Server:
    """Serves ``files[path] = (bytes, mode)``; mode ``ok``, ``partial`` (announces more bytes
    than it sends, then closes) or missing paths 404. Counts requests."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                item = outer.files.get(self.path)
                if item is None:
                    self.send_error(404)
                    return
                data, mode = item
                self.send_response(200)
                extra = 4096 if mode == "partial" else 0
                self.send_header("Content-Length", str(len(data) + extra))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if mode == "partial":
                    self.close_connection = True

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, name: str, data: bytes, mode: str = "ok") -> str:
        self.files[f"/{name}"] = (data, mode)
        return f"{self.url}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache, downloads allowed (the suite sets REIDLAB_OFFLINE=1)."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("REIDLAB_OFFLINE", raising=False)
    monkeypatch.delenv("REIDLAB_WEIGHTS_MIRROR", raising=False)
    return tmp_path / "hub" / "checkpoints"


def saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def hashed_name(stem: str, data: bytes) -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_download_into_the_cache_with_checksum_and_progress(server, hub, capfd):
    data = saved({"w": torch.arange(1000.0)})
    name = hashed_name("tiny", data)
    url = server.add(name, data)
    path = fetch_weights(url, "backbone tiny")
    assert path == hub / name and path.read_bytes() == data
    assert leftovers(hub) == [name]  # no temporary file beside it
    err = capfd.readouterr()
    assert name in err.err and "100%" in err.err  # tqdm's bar on stderr
    assert f"downloading ImageNet weights {url} to {path}" in err.out
    # cached: the second call does not ask the server
    n = len(server.requests)
    assert fetch_weights(url, "backbone tiny") == path and len(server.requests) == n


def test_corrupt_partial_and_failed_downloads_leave_nothing(server, hub):
    good = saved({"w": torch.ones(500)})
    name = hashed_name("tiny", good)
    corrupt = server.add(f"bad/{name}", good[:-10] + b"0123456789")
    with pytest.raises(ConfigError, match=r"a corrupt file: SHA-256 .* expected "
                       rf"{name[5:13]}\.\.\. as its name says.*place it at {hub / name}"):
        fetch_weights(corrupt, "backbone tiny")
    assert leftovers(hub) == []
    partial = server.add(f"part/{name}", good, mode="partial")
    with pytest.raises(ConfigError, match=r"downloading .*part/tiny-.*failed \((a partial file: "
                       rf"{len(good)} of {len(good) + 4096} bytes|.*IncompleteRead.*)\); nothing "
                       r"was kept in"):
        fetch_weights(partial, "backbone tiny")
    assert leftovers(hub) == []
    with pytest.raises(ConfigError, match=r"failed \(HTTP 404 Not Found\).*Check the "
                       r"network and run again, or download"):
        fetch_weights(f"{server.url}/nothing/{name}", "backbone tiny")
    # no server at all (a closed port): the same, one line
    with pytest.raises(ConfigError, match=r"backbone tiny: downloading http://127\.0\.0\.1:9/.* "
                       r"failed \(") as e:
        fetch_weights(f"http://127.0.0.1:9/{name}", "backbone tiny", timeout=5)
    assert "\n" not in str(e.value)
    assert leftovers(hub) == []


def test_offline_refuses_and_names_the_file_and_place(server, hub, monkeypatch):
    data = saved({"w": torch.zeros(3)})
    name = hashed_name("tiny", data)
    url = server.add(name, data)
    monkeypatch.setenv("REIDLAB_OFFLINE", "1")
    with pytest.raises(ConfigError, match=rf"backbone tiny: ImageNet weights {name} are not in "
                       rf"the torch cache and downloads are off \(REIDLAB_OFFLINE=1 / --offline\); "
                       rf"download {url} yourself and place it at {hub / name}"):
        fetch_weights(url, "backbone tiny")
    assert server.requests == [] and leftovers(hub) == []
    # the backbones say the same (torchvision's file name and URL for the ResNets)
    with pytest.raises(ConfigError, match=r"resnet18-f37072fd\.pth are not in the torch cache.*"
                       r"https://download\.pytorch\.org/models/resnet18-f37072fd\.pth"):
        build_backbone("resnet18", pretrained=True)
    with pytest.raises(ConfigError, match=r"resnet50_ibn_a-d9d0bb7b\.pth .*https://github\.com/"
                       r"XingangPan/IBN-Net/releases/download/v1\.0/resnet50_ibn_a-d9d0bb7b\.pth"):
        build_backbone("resnet50_ibn_a", pretrained=True)
    assert "downloads are off" in imagenet_status("resnet50")
    monkeypatch.setenv("REIDLAB_OFFLINE", "0")
    assert "downloaded on first use from https://download.pytorch.org" in \
        imagenet_status("resnet50")


def test_resnet18_through_a_mirror_checks_torchvisions_checksum(server, hub, monkeypatch):
    import torchvision

    # random weights under torchvision's file name: the name's SHA-256 prefix cannot match
    data = saved(torchvision.models.resnet18(weights=None).state_dict())
    server.add("resnet18-f37072fd.pth", data)
    monkeypatch.setenv("REIDLAB_WEIGHTS_MIRROR", server.url + "/")
    with pytest.raises(ConfigError, match=r"backbone resnet18: downloading .*/resnet18-f37072fd"
                       r"\.pth failed \(a corrupt file: SHA-256"):
        build_backbone("resnet18", pretrained=True)
    assert server.requests == ["/resnet18-f37072fd.pth"] and leftovers(hub) == []


def test_resnet50_ibn_a_weights_download_and_load(server, hub, monkeypatch):
    ref = backbones.resnet50_ibn_a_model()  # stands in for the authors' ImageNet file
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.1, 0.1)
    state = ref.state_dict()
    data = saved({f"module.{k}": v for k, v in state.items()})  # DataParallel prefix too
    url = server.add(hashed_name("resnet50_ibn_a", data), data)
    monkeypatch.setattr(backbones, "IBN_URL", url)
    net = build_backbone("resnet50_ibn_a", pretrained=True, last_stride=1)
    assert net.pretrained_loaded and leftovers(hub) == [url.rsplit("/", 1)[-1]]
    torch.testing.assert_close(net.layer2[1].bn1.IN.weight, state["layer2.1.bn1.IN.weight"])
    torch.testing.assert_close(net.layer4[2].conv3.weight, state["layer4.2.conv3.weight"])
    # a cached file that is not this network's weights: an error naming it, not a crash
    (hub / url.rsplit("/", 1)[-1]).write_bytes(saved({"fc.weight": torch.zeros(2)}))
    with pytest.raises(ConfigError, match=r"resnet50_ibn_a-.*\.pth does not hold "
                       r"resnet50_ibn_a's weights"):
        build_backbone("resnet50_ibn_a", pretrained=True)


def test_resnet50_ibn_a_architecture():
    net = build_backbone("resnet50_ibn_a", pretrained=False, last_stride=1).eval()
    keys = net.state_dict().keys()
    # IBN in the first norm of every bottleneck of layer1..layer3, half the channels IN
    for layer, blocks, planes in ((net.layer1, 3, 64), (net.layer2, 4, 128),
                                  (net.layer3, 6, 256)):
        assert len(layer) == blocks
        for b in layer:
            assert isinstance(b.bn1, backbones.IBN)
            assert b.bn1.IN.num_features == planes // 2 and b.bn1.BN.num_features == planes // 2
            assert b.bn1.IN.affine and not b.bn1.IN.track_running_stats
            assert isinstance(b.bn2, torch.nn.BatchNorm2d)
    assert all(isinstance(b.bn1, torch.nn.BatchNorm2d) for b in net.layer4)
    assert isinstance(net.stem[1], torch.nn.BatchNorm2d)
    assert "layer1.0.bn1.IN.weight" in keys and "layer3.5.bn1.BN.running_mean" in keys
    x = torch.randn(2, 3, 128, 64)
    with torch.no_grad():
        out = net(x)
    assert out["map"].shape == (2, 2048, 8, 4)
    assert [s.shape[1] for s in out["stages"]] == [256, 512, 1024]
    # IBN: instance statistics on the first half, batch statistics on the second
    ibn = backbones.IBN(8).eval()
    y = torch.randn(3, 8, 5, 4) * 3 + 1
    with torch.no_grad():
        z = ibn(y)
    a = y[:, :4]
    inst = (a - a.mean((2, 3), keepdim=True)) / torch.sqrt(a.var((2, 3), unbiased=False,
                                                                keepdim=True) + 1e-5)
    torch.testing.assert_close(z[:, :4], inst, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(z[:, 4:], y[:, 4:] / (1 + 1e-5) ** 0.5, atol=1e-4, rtol=1e-4)


def test_offline_flag_of_the_cli(tmp_path, monkeypatch):
    import os

    from reidlab.cli import main

    monkeypatch.delenv("REIDLAB_OFFLINE", raising=False)
    assert main(["eval", "--run", str(tmp_path / "none")]) == 2
    assert "REIDLAB_OFFLINE" not in os.environ
    assert main(["--offline", "eval", "--run", str(tmp_path / "none")]) == 2
    assert os.environ["REIDLAB_OFFLINE"] == "1" and backbones.offline()
