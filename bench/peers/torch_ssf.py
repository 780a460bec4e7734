"""The PyTorch peer of the reference CNN with SSF (per-channel scale and shift after each block),
trained through a cosine head: one step of SAFE's session-1 PET tuning. Shared by the benchmarks
that time that step (bench/conv.bench.ts, bench/continual.bench.ts)."""
import torch
import torch.nn as nn
import torch.nn.functional as Fn


class SsfCnn(nn.Module):
    """3x3 convs 1-16-32-64, strides 1-2-2, BN, ReLU, SSF, global average pool."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(a, b, 3, st, 1, bias=False) for a, b, st in [(1, 16, 1), (16, 32, 2), (32, 64, 2)]])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in (16, 32, 64)])
        self.scale = nn.ParameterList([nn.Parameter(torch.ones(c)) for c in (16, 32, 64)])
        self.shift = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in (16, 32, 64)])

    def forward(self, x):
        for c, b, sc, sh in zip(self.convs, self.bns, self.scale, self.shift):
            x = Fn.relu(b(c(x))) * sc.view(1, -1, 1, 1) + sh.view(1, -1, 1, 1)
        return x.mean((2, 3))


def frozen_ssf_net():
    """The backbone in eval mode with only its SSF parameters trainable."""
    net = SsfCnn().eval()
    for m in list(net.convs) + list(net.bns):
        for p in m.parameters():
            p.requires_grad_(False)
    return net


def make_ssf_step(net, batch):
    """A closure running one SGD step (lr 0.01, momentum 0.9, wd 5e-4) on a random batch of two classes."""
    W = nn.Parameter(torch.randn(2, 64))
    sigma = nn.Parameter(torch.tensor(10.0))
    opt = torch.optim.SGD(list(net.scale) + list(net.shift) + [W, sigma], lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) % 2

    def step():
        logits = sigma * Fn.normalize(net(x), dim=1) @ Fn.normalize(W, dim=1).T
        loss = Fn.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step
