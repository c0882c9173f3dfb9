"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node 2``: the collective
helpers of reidlab.engine.distributed on CPU/gloo, checked against one-process references.
Rank 0 writes what it found to the JSON file named on the command line."""

import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn

from reidlab.engine.distributed import Dist, convert_sync_batchnorm

d = Dist.from_env()
d.start("cpu")
r, out = d.rank, {}

# batch norm over both processes' halves = batch norm over the whole batch (values, gradients,
# running statistics)
torch.manual_seed(0)
x = torch.randn(8, 3, 5, 4)
w = torch.randn(8, 3, 5, 4)
ref = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
syn = convert_sync_batchnorm(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)),
                             torch.device("cpu"))
syn.load_state_dict(ref.state_dict())
ref_y = ref(x)
(ref_y * w).mean().backward()
part = slice(4 * r, 4 * r + 4)
y = syn(x[part])
(y * w[part]).sum().div(x.numel()).backward()  # this process's share of the global mean
for p in syn.parameters():
    dist.all_reduce(p.grad)  # what DDP does (sum of shares = the global mean's gradient)
out["bn_type"] = type(syn[1]).__name__
out["bn_out"] = float((y - ref_y[part]).abs().max())
out["bn_grad"] = max(float((a.grad - b.grad).abs().max())
                     for a, b in zip(ref.parameters(), syn.parameters()))
out["bn_running"] = float((ref[1].running_var - syn[1].running_var).abs().max()
                          + (ref[1].running_mean - syn[1].running_mean).abs().max())

# rows gathered in rank order, a key only one process has included, lengths that differ
extras = {"feat": torch.full((r + 1, 2), float(r)), "scalar": torch.tensor(3.0)}
if r == 1:
    extras["slots"] = torch.tensor([7, 8], dtype=torch.long)
g = d.gather_rows(extras)
out["feat"] = g["feat"].tolist()
out["slots"] = g["slots"].tolist()
out["scalar_kept"] = float(g["scalar"])
out["means"] = d.mean_dicts({"loss": 1.0 + r}, {"a": 2.0} if r == 0 else {"a": 4.0, "b": 1.0})
out["any"] = [d.any(r == 1, torch.device("cpu")), d.any(False, torch.device("cpu"))]
if r == 0:
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
d.close()
sys.stdout.flush()
os._exit(0)
