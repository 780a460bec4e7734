# The trainer's llama architecture in PyTorch (src/llm/train/model.ts): RMSNorm, rotary
# embeddings on adjacent pairs (llama.cpp's layout), causal attention, SwiGLU, tied or untied
# output, AdamW. A worker for bench/llm-train.bench.ts: one JSON line per request, steps timed.
import json, math, sys, time
import torch
import torch.nn.functional as F


class Llama(torch.nn.Module):
    def __init__(self, vocab, dim, layers, heads, ffn, ctx, tied, base=10000.0, eps=1e-5):
        super().__init__()
        self.heads, self.dim, self.eps, self.tied = heads, dim, eps, tied
        self.embd = torch.nn.Parameter(torch.randn(vocab, dim) * 0.02)
        self.out = None if tied else torch.nn.Parameter(torch.randn(vocab, dim) * 0.02)
        self.norm = torch.nn.Parameter(torch.ones(dim))
        mk = lambda o, i, s=0.02: torch.nn.Parameter(torch.randn(o, i) * s)
        rs = 0.02 / math.sqrt(2 * layers)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.ParameterDict({
                'an': torch.nn.Parameter(torch.ones(dim)), 'q': mk(dim, dim), 'k': mk(dim, dim), 'v': mk(dim, dim), 'o': mk(dim, dim, rs),
                'fn': torch.nn.Parameter(torch.ones(dim)), 'g': mk(ffn, dim), 'u': mk(ffn, dim), 'd': mk(dim, ffn, rs)})
            self.blocks.append(b)
        hd = dim // heads
        theta = base ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(ctx).float()[:, None] * theta[None, :]
        self.register_buffer('cos', ang.cos()[None, :, None, :])
        self.register_buffer('sin', ang.sin()[None, :, None, :])

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x):
        T = x.shape[1]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[:, :T], self.sin[:, :T]
        return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), -1).flatten(-2)

    def forward(self, ids):
        B, T = ids.shape
        hd = self.dim // self.heads
        x = self.embd[ids]
        for b in self.blocks:
            h = self.rms(x, b['an'])
            q = self.rope((h @ b['q'].T).view(B, T, self.heads, hd)).transpose(1, 2)
            k = self.rope((h @ b['k'].T).view(B, T, self.heads, hd)).transpose(1, 2)
            v = (h @ b['v'].T).view(B, T, self.heads, hd).transpose(1, 2)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf')).softmax(-1)
            x = x + (att @ v).transpose(1, 2).reshape(B, T, self.dim) @ b['o'].T
            f = self.rms(x, b['fn'])
            x = x + (F.silu(f @ b['g'].T) * (f @ b['u'].T)) @ b['d'].T
        x = self.rms(x, self.norm)
        return x @ (self.embd if self.tied else self.out).T


print(json.dumps({"version": torch.__version__}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    m = Llama(c["vocab"], c["dim"], c["layers"], c["heads"], c["ffn"], c["T"], c["tied"])
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, c["vocab"], (c["B"], c["T"] + 1))
    def step():
        opt.zero_grad()
        logits = m(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss.item()
    for _ in range(c["warmup"]): step()
    best = float('inf')
    for _ in range(c["rounds"]):
        t = time.perf_counter()
        for _ in range(c["steps"]): step()
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"s": best, "threads": torch.get_num_threads()}), flush=True)
