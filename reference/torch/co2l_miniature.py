"""Co2L miniature in PyTorch: the same setting as perennial's `cil co2l` (Seq-Fashion-MNIST B2Inc2).

Encoder conv3x3 1->32 s2, BN, ReLU; conv3x3 32->64 s2, BN, ReLU; GAP; linear 64->128, ReLU;
projector 128->128->64, l2-normalised. Two views (random crop, 2-px zero padding; horizontal flip;
Gaussian noise 0.05). Asymmetric SupCon (anchors = current-task classes, averaged over all views,
times tau/0.07), IRD from the frozen previous model in eval mode (kappa* 0.2, kappa 0.01), class-
balanced random buffer, Adam 1e-3, batch 256. Probe: class-balanced softmax regression on
standardised frozen features of (task data + buffer), Adam with cosine decay, epoch chosen on a
fixed validation split of 100 rows per class, never on test. Writes a JSON with per-seed accuracy
after each task and the wall time per seed.

With --split FILE (a JSON {seed: {"val": [...], "train": [...], "classOrder": [...]}} of row indices
into the Fashion-MNIST training set, as written by perennial's `co2lSeedIndices`), the validation
rows, training rows and class order are perennial's for that seed; otherwise the port draws its own.
Also records the accuracy matrix (accuracy on each task's test classes after each task) and the
process CPU time per run.

Run: /usr/bin/python3 reference/torch/co2l_miniature.py --seeds 0,1 --lambdas 1,0 --json out.json
"""
import argparse, gzip, json, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('>I', data[:4])[0]
    nd = magic & 0xff
    dims = struct.unpack('>' + 'I' * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_fmnist(root):
    xtr = load_idx(os.path.join(root, 'train-images-idx3-ubyte.gz')).astype(np.float32) / 255.0
    ytr = load_idx(os.path.join(root, 'train-labels-idx1-ubyte.gz')).astype(np.int64)
    xte = load_idx(os.path.join(root, 't10k-images-idx3-ubyte.gz')).astype(np.float32) / 255.0
    yte = load_idx(os.path.join(root, 't10k-labels-idx1-ubyte.gz')).astype(np.int64)
    return xtr, ytr, xte, yte


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, 2, 1, bias=False); self.b1 = nn.BatchNorm2d(32)
        self.c2 = nn.Conv2d(32, 64, 3, 2, 1, bias=False); self.b2 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 128)
        self.head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))

    def features(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        return F.relu(self.fc(x.mean((2, 3))))

    def forward(self, x):
        return F.normalize(self.head(self.features(x)), dim=1)


def augment(x, gen):
    n = x.shape[0]
    xp = F.pad(x, (2, 2, 2, 2))
    oy = torch.randint(0, 5, (n,), generator=gen); ox = torch.randint(0, 5, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = xp[i, :, oy[i]:oy[i] + 28, ox[i]:ox[i] + 28]
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out + 0.05 * torch.randn(out.shape, generator=gen)


def asym_supcon(z, y, anchor, tau=0.5, tau_base=0.07):
    V = z.shape[0]
    sim = z @ z.T / tau
    eye = torch.eye(V, dtype=torch.bool)
    logprob = torch.log_softmax(sim.masked_fill(eye, -1e9), 1)
    pos = (y[:, None] == y[None, :]) & ~eye
    npos = pos.sum(1).clamp(min=1)
    per = -(logprob * pos).sum(1) / npos * anchor.float()
    return per.sum() / V * (tau / tau_base)


def ird(z, zp, ks=0.2, k=0.01):
    V = z.shape[0]
    eye = torch.eye(V, dtype=torch.bool)
    lc = torch.log_softmax((z @ z.T / ks).masked_fill(eye, -1e9), 1)
    pp = torch.softmax((zp @ zp.T / k).masked_fill(eye, -1e9), 1)
    return -(pp * lc.clamp(min=-1e8)).sum(1).mean()


def balanced_buffer(y, cap, rs):
    classes = np.unique(y)
    base = cap // len(classes); extra = cap - base * len(classes)
    out = []
    for c in classes:
        rows = np.nonzero(y == c)[0]
        want = min(len(rows), base + (1 if extra > 0 else 0))
        if extra > 0: extra -= 1
        out.extend(rs.permutation(rows)[:want].tolist())
    return np.sort(np.array(out, dtype=np.int64))


@torch.no_grad()
def feats(net, x):
    net.eval()
    out = torch.cat([net.features(x[s:s + 1000]) for s in range(0, len(x), 1000)])
    net.train()
    return out


def probe(ftr, ytr, fva, yva, fte, classes, epochs, lr, bs, gen):
    mu = ftr.mean(0); sd = ftr.std(0, unbiased=False) + 1e-6
    ftr, fva, fte = (ftr - mu) / sd, (fva - mu) / sd, (fte - mu) / sd
    counts = torch.bincount(ytr, minlength=classes).float()
    present = (counts > 0).sum()
    w = len(ytr) / (present * counts[ytr])
    lin = nn.Linear(ftr.shape[1], classes)
    nn.init.zeros_(lin.weight); nn.init.zeros_(lin.bias)
    opt = torch.optim.Adam(lin.parameters(), lr=lr)
    steps = epochs * ((len(ytr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * s / max(1, steps))))
    best = (-1, 0, None)
    for ep in range(1, epochs + 1):
        perm = torch.randperm(len(ytr), generator=gen)
        for s in range(0, len(ytr), bs):
            idx = perm[s:s + bs]
            loss = (F.cross_entropy(lin(ftr[idx]), ytr[idx], reduction='none') * w[idx]).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        with torch.no_grad():
            acc = (lin(fva).argmax(1) == yva).float().mean().item()
        if acc >= best[0]:
            best = (acc, ep, {k: v.clone() for k, v in lin.state_dict().items()})
    lin.load_state_dict(best[2])
    with torch.no_grad():
        return lin(fte).argmax(1), best[1], best[0]


def run_seed(data, seed, lam, a, split=None):
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed); gen = torch.Generator().manual_seed(seed)
    if split is not None:
        val_idx = np.array(split['val'], dtype=np.int64); tr_idx = np.array(split['train'], dtype=np.int64)
        order = np.array(split['classOrder'], dtype=np.int64)
    else:
        rs_val = np.random.RandomState(1993)
        val_idx, pool_idx = [], []
        for c in range(10):
            rows = rs_val.permutation(np.nonzero(ytr == c)[0])
            val_idx.extend(rows[:100]); pool_idx.append(rows[100:])
        rs = np.random.RandomState(seed)
        tr_idx = np.concatenate([rs.permutation(p)[:a.per_class] for p in pool_idx])
        order = rs.permutation(10)
    remap = np.argsort(order)  # original label -> position
    X = torch.from_numpy(xtr[tr_idx]).unsqueeze(1); Y = torch.from_numpy(remap[ytr[tr_idx]])
    Xv = torch.from_numpy(xtr[np.array(val_idx)]).unsqueeze(1); Yv = torch.from_numpy(remap[ytr[np.array(val_idx)]])
    Xt = torch.from_numpy(xte).unsqueeze(1); Yt = torch.from_numpy(remap[yte])
    net = Net(); opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    teacher = None; bx = by = None
    accs = []; matrix = []; probe_log = []; losses = []; t0 = time.time(); c0 = time.process_time()
    for t in range(5):
        lo, hi = 2 * t, 2 * t + 2
        m = (Y >= lo) & (Y < hi)
        tx, ty = X[m], Y[m]
        sx, sy = (torch.cat([bx, tx]), torch.cat([by, ty])) if bx is not None else (tx, ty)
        epochs = a.epochs_first if t == 0 else a.epochs_later
        net.train()
        sum_con = sum_dis = 0.0; steps = 0
        for ep in range(epochs):
            perm = torch.randperm(len(sy), generator=gen)
            for s in range(0, len(sy), a.batch):
                idx = perm[s:s + a.batch]; B = len(idx)
                xb = torch.cat([augment(sx[idx], gen), augment(sx[idx], gen)])
                yb = torch.cat([sy[idx], sy[idx]])
                z = net(xb)
                loss = con = asym_supcon(z, yb, (yb >= lo) & (yb < hi))
                if teacher is not None and lam > 0:
                    with torch.no_grad():
                        zp = teacher(xb)
                    dis = ird(z, zp)
                    loss = loss + lam * dis
                    sum_dis += dis.item()
                sum_con += con.item(); steps += 1
                opt.zero_grad(); loss.backward(); opt.step()
        ftr = feats(net, sx); mv = Yv < hi; fva = feats(net, Xv[mv]); mt = Yt < hi; fte = feats(net, Xt[mt])
        pred, pep, pva = probe(ftr, sy, fva, Yv[mv], fte, hi, a.probe_epochs, a.probe_lr, 256, gen)
        accs.append(100.0 * (pred == Yt[mt]).float().mean().item())
        probe_log.append({'epoch': pep, 'val_acc': 100.0 * pva})
        losses.append({'con': sum_con / max(1, steps), 'dis': sum_dis / max(1, steps)})
        yt = Yt[mt]
        matrix.append([100.0 * (pred[(yt >= 2 * j) & (yt < 2 * j + 2)] == yt[(yt >= 2 * j) & (yt < 2 * j + 2)]).float().mean().item() for j in range(t + 1)])
        rsb = np.random.RandomState(seed * 100 + t)
        keep = balanced_buffer(sy.numpy(), 200, rsb)
        bx, by = sx[keep], sy[keep]
        teacher = Net(); teacher.load_state_dict(net.state_dict()); teacher.eval()
        for p in teacher.parameters(): p.requires_grad_(False)
    return {'seed': seed, 'lambda': lam, 'acc_per_task': accs, 'acc_matrix': matrix, 'last_acc': accs[-1],
            'probe_per_task': probe_log, 'losses_per_task': losses, 'class_order': [int(c) for c in order], 'shared_split': split is not None,
            'time_s': time.time() - t0, 'cpu_s': time.process_time() - c0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', default='0'); ap.add_argument('--lambdas', default='1,0')
    ap.add_argument('--per-class', type=int, default=2000, dest='per_class')
    ap.add_argument('--epochs-first', type=int, default=12, dest='epochs_first')
    ap.add_argument('--epochs-later', type=int, default=6, dest='epochs_later')
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--probe-epochs', type=int, default=100, dest='probe_epochs')
    ap.add_argument('--probe-lr', type=float, default=1e-2, dest='probe_lr')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--split', default=None, help='JSON of perennial row indices and class order per seed')
    ap.add_argument('--json', required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = load_fmnist(a.data)
    splits = json.load(open(a.split)) if a.split else None
    runs = []
    for seed in [int(s) for s in a.seeds.split(',')]:
        for lam in [float(l) for l in a.lambdas.split(',')]:
            r = run_seed(data, seed, lam, a, splits[str(seed)] if splits else None)
            print(json.dumps(r), flush=True)
            runs.append(r)
            with open(a.json + '.tmp', 'w') as f:
                json.dump({'config': vars(a), 'torch': torch.__version__, 'runs': runs}, f, indent=1)
            os.replace(a.json + '.tmp', a.json)


if __name__ == '__main__':
    main()
