"""PyTorch implementation of the continual reference miniature (issue #4), for same-run comparison.

Runs on the rows written by perennial's `exportMiniature` (src/continual/trainer.ts): pretraining rows
of classes 0-4, the CIL pool, the official test set, and per seed the class order and the train /
validation indices, so both implementations see exactly the same images.

  /usr/bin/python3 reference/torch/cil_miniature.py --data DIR --out result.json [--seeds 0,1,...]
      [--pretrain-epochs 10] [--epochs-first 5] [--epochs-later 3] [--M 2048] [--threads 2]
      [--load-backbone DIR | --save-backbone DIR] [--pretrain-head cosine|linear] [--pretrain-seed 0]
      [--probe] [--methods simplecil,ranpac,safe]

Setting (mirrors perennial's defaults, see src/continual/README.md): CNN 3x3 16-32-64, strides 1-2-2,
padding 1, BN (eps 1e-5, momentum 0.1), ReLU, global average pooling -> 64-D; pretrained supervised on
the pretraining rows with a cosine head (scale 10, learned), SGD lr 0.05, momentum 0.9, wd 5e-4,
batch 128, cosine schedule per step. PET = SSF after each block; PET training: SGD lr 0.01, momentum
0.9, wd 5e-4, batch 48, cosine schedule, cosine head whose new rows start at the class means.
SimpleCIL: cosine prototypes on frozen features. RanPAC: phase-1 SSF in session 1, random ReLU
projection (N(0,1), M) per output, float64 G/Q, lambda in {1e-4..1e4} on an 80/20 stratified split
of the session's features (MSE, ties to the larger lambda), Cholesky solve. SAFE: slow = session-1
SSF with CE + transfer loss (batch-standardised, lambda_diag 0.01, lambda_rdn 5e-5); fast = copy
trained in later sessions with CE + 0.5 * sum(1 - cos(f_fast, f_slow)) + cross-classification;
separate projection and ridge head per branch; entropy aggregation with gamma and logit scale chosen
on the validation rows of the seen classes.

Times are wall seconds per method per seed (fit + test prediction of every session), with
torch.set_num_threads(threads). The last line of stdout is the JSON summary; --out gets the full record.
"""
import argparse
import hashlib
import json
import math
import os
import time
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F

LAMBDAS = [10.0 ** k for k in range(-4, 5)]
GAMMAS = [1, 0, 0.5, 2, 5, 10]
LOGIT_SCALES = [1, 10, 30, 100]
CHANNELS = [16, 32, 64]
STRIDES = [1, 2, 2]


# ---------------------------------------------------------------- backbone
class Cnn(torch.nn.Module):
    def __init__(self, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = torch.nn.ModuleList()
        self.bns = torch.nn.ModuleList()
        cin = 1
        for c, s in zip(CHANNELS, STRIDES):
            conv = torch.nn.Conv2d(cin, c, 3, stride=s, padding=1, bias=False)
            with torch.no_grad():
                conv.weight.normal_(0, math.sqrt(2 / (9 * cin)), generator=g)
            self.convs.append(conv)
            self.bns.append(torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1))
            cin = c

    def forward(self, x, pet=None):
        x = x.view(-1, 1, 28, 28)
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            x = F.relu(bn(conv(x)))
            if pet is not None:
                x = x * pet[f'scale{i}'].view(1, -1, 1, 1) + pet[f'shift{i}'].view(1, -1, 1, 1)
        return x.mean(dim=(2, 3))


def new_pet():
    pet = {}
    for i, c in enumerate(CHANNELS):
        pet[f'scale{i}'] = torch.ones(c, requires_grad=True)
        pet[f'shift{i}'] = torch.zeros(c, requires_grad=True)
    return pet


def clone_pet(pet):
    return {k: v.detach().clone().requires_grad_(True) for k, v in pet.items()}


def save_backbone(model, out_dir, manifest_extra):
    """Write perennial's checkpoint format: weights.bin (float32, tensors sorted by name) + manifest.json."""
    os.makedirs(out_dir, exist_ok=True)
    tensors = {}
    for i in range(len(CHANNELS)):
        conv, bn = model.convs[i], model.bns[i]
        tensors[f'blocks.{i}.conv.weight'] = conv.weight.detach().permute(2, 3, 1, 0).contiguous()  # -> [3,3,cin,cout]
        tensors[f'blocks.{i}.bn.weight'] = bn.weight.detach()
        tensors[f'blocks.{i}.bn.bias'] = bn.bias.detach()
        tensors[f'blocks.{i}.bn.running_mean'] = bn.running_mean.detach()
        tensors[f'blocks.{i}.bn.running_var'] = bn.running_var.detach()
    table, parts, off = [], [], 0
    for name in sorted(tensors):
        t = tensors[name].float().numpy().astype(np.float32)
        table.append({'name': name, 'shape': list(t.shape), 'offset': off})
        parts.append(t.ravel())
        off += t.size
    data = np.concatenate(parts).astype('<f4').tobytes()
    with open(os.path.join(out_dir, 'weights.bin'), 'wb') as f:
        f.write(data)
    manifest = {
        'format': 'perennial-backbone/1',
        'spec': {'kind': 'cnn', 'config': {'imageSize': 28, 'inChannels': 1, 'channels': CHANNELS, 'strides': STRIDES}},
        'architecture': {'kind': 'cnn', 'imageSize': 28, 'inChannels': 1, 'channels': CHANNELS, 'strides': STRIDES,
                         'batchNorm': {'eps': 1e-5, 'momentum': 0.1}, 'pool': 'global-average', 'pet': 'ssf after each block',
                         'trainedBy': 'reference/torch/cil_miniature.py (PyTorch %s)' % torch.__version__},
        **manifest_extra,
        'tensors': table, 'sha256': hashlib.sha256(data).hexdigest(),
        'created': datetime.now(timezone.utc).isoformat(),
    }
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)


def load_backbone(in_dir):
    """Read perennial's checkpoint (tfjs conv layout [3,3,cin,cout]) into the PyTorch CNN."""
    with open(os.path.join(in_dir, 'manifest.json')) as f:
        manifest = json.load(f)
    raw = np.fromfile(os.path.join(in_dir, 'weights.bin'), dtype='<f4')
    model = Cnn(0)
    sd = {}
    for t in manifest['tensors']:
        n = int(np.prod(t['shape']))
        arr = torch.from_numpy(raw[t['offset']:t['offset'] + n].reshape(t['shape']).copy())
        _, i, kind, field = t['name'].split('.')
        if kind == 'conv':
            sd[f'convs.{i}.weight'] = arr.permute(3, 2, 0, 1).contiguous()
        else:
            sd[f'bns.{i}.{field}'] = arr
    missing = model.load_state_dict(sd, strict=False)
    if [k for k in missing.missing_keys if not k.endswith('num_batches_tracked')] or missing.unexpected_keys:
        raise SystemExit(f'{in_dir}: tensors do not match the CNN: {missing}')
    return model, manifest


# ---------------------------------------------------------------- training
def cosine_logits(w, scale, f, seen):
    return F.normalize(f, dim=1, eps=1e-12) @ F.normalize(w[:seen], dim=1, eps=1e-12).t() * scale


def cos_lr(lr, step, total):
    return 0.5 * lr * (1 + math.cos(math.pi * step / max(1, total)))


def sgd_loop(params, n, batch, epochs, lr, gen, loss_fn, momentum=0.9, wd=5e-4):
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    steps = math.ceil(n / batch)
    total = steps * epochs
    step = 0
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        s = 0.0
        for k in range(steps):
            idx = perm[k * batch:(k + 1) * batch]
            for g in opt.param_groups:
                g['lr'] = cos_lr(lr, step, total)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(idx)
            loss.backward()
            opt.step()
            s += loss.item()
            step += 1
        losses.append(s / steps)
    return losses


def pretrain(x, y, epochs, seed, head_kind):
    model = Cnn(seed)
    model.train()
    nc = int(y.max()) + 1
    g = torch.Generator().manual_seed(seed + 1)
    if head_kind == 'cosine':
        w = torch.randn(nc, 64, generator=g).requires_grad_(True)
        scale = torch.tensor(10.0, requires_grad=True)
        head_params = [w, scale]
        head = lambda f: cosine_logits(w, scale, f, nc)  # noqa: E731
    else:
        lin = torch.nn.Linear(64, nc)
        head_params = list(lin.parameters())
        head = lin
    losses = sgd_loop(list(model.parameters()) + head_params, len(y), 128, epochs, 0.05, g,
                      lambda idx: F.cross_entropy(head(model(x[idx])), y[idx]))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, losses


@torch.no_grad()
def features(model, x, pet=None, chunk=2000):
    return torch.cat([model(x[s:s + chunk], pet) for s in range(0, len(x), chunk)])


def init_rows_from_means(w, f, y, ids):
    with torch.no_grad():
        for c in ids:
            m = f[y == c].double().mean(0)
            w[c] = (m / m.norm().clamp_min(1e-12)).float()


def batch_standardise(f):
    return (f - f.mean(0, keepdim=True)) / torch.sqrt(f.var(0, unbiased=False, keepdim=True) + 1e-5)


def transfer_loss(fs, ft, l_diag=0.01, l_rdn=5e-5):
    c = batch_standardise(fs).t() @ batch_standardise(ft) / fs.shape[0]
    d = torch.diagonal(c)
    off = c - torch.diag(d)
    return l_diag * ((d - 1) ** 2).sum() + l_rdn * (off ** 2).sum()


def train_pet(model, pet, w, scale, x, y, seen, epochs, gen, extra=None):
    def loss_fn(idx):
        xb, yb = x[idx], y[idx]
        f = model(xb, pet)
        loss = F.cross_entropy(cosine_logits(w, scale, f, seen), yb)
        if extra is not None:
            loss = loss + extra(xb, yb, f)
        return loss
    return sgd_loop(list(pet.values()) + [w, scale], len(y), 48, epochs, 0.01, gen, loss_fn)


# ---------------------------------------------------------------- heads
class RidgeBranch:
    def __init__(self, M, seed, nc):
        self.M = M
        self.W = torch.randn(64, M, generator=torch.Generator().manual_seed(seed)) if M > 0 else None
        d = M if M > 0 else 64
        self.G = torch.zeros(d, d, dtype=torch.float64)
        self.Q = torch.zeros(d, nc, dtype=torch.float64)
        self.nc = nc
        self.Wout = None

    def project(self, f):
        return torch.relu(f @ self.W) if self.W is not None else f

    def update(self, f, y, gen):
        h = self.project(f).double()
        fit, val = [], []
        for c in sorted(set(y.tolist())):
            idx = (y == c).nonzero().flatten()
            idx = idx[torch.randperm(len(idx), generator=gen)]
            k = round(0.8 * len(idx))
            fit.append(idx[:k])
            val.append(idx[k:])
        fit, val = torch.cat(fit), torch.cat(val)
        Y = F.one_hot(y.long(), self.nc).double()
        Gf, Qf = h[fit].t() @ h[fit], h[fit].t() @ Y[fit]
        eye = torch.eye(h.shape[1], dtype=torch.float64)
        best, best_mse = None, None
        for lam in LAMBDAS:
            L = torch.linalg.cholesky(Gf + lam * eye)
            Wl = torch.cholesky_solve(Qf, L)
            mse = ((h[val] @ Wl - Y[val]) ** 2).mean().item()
            if best_mse is None or mse <= best_mse:
                best, best_mse = lam, mse
        self.G += h.t() @ h
        self.Q += h.t() @ Y
        L = torch.linalg.cholesky(self.G + best * eye)
        self.Wout = torch.cholesky_solve(self.Q, L)
        return best

    def logits(self, f, seen):
        return (self.project(f).double() @ self.Wout[:, :seen]).float()


def entropy_aggregate(zf, zs, gamma, scale):
    def ent(z):
        lp = F.log_softmax(scale * z.double(), dim=1)
        return -(lp.exp() * lp).sum(1)
    w = torch.softmax(torch.stack([-gamma * ent(zf), -gamma * ent(zs)], 1), dim=1)
    wf = w[:, 0:1]
    return (wf * zf.double() + (1 - wf) * zs.double()).float(), wf.flatten()


# ---------------------------------------------------------------- learners
class SimpleCil:
    outputs = ['simplecil']

    def __init__(self, ctx):
        self.ctx = ctx
        self.sums = torch.zeros(ctx['nc'], 64, dtype=torch.float64)
        self.counts = torch.zeros(ctx['nc'], dtype=torch.float64)

    def fit(self, s):
        f = self.ctx['frozen'](s['train_key'], s['x'], None).double()
        self.sums.index_add_(0, s['y'].long(), f)
        self.counts += torch.bincount(s['y'].long(), minlength=self.ctx['nc']).double()

    def predict(self, key, x, seen):
        f = self.ctx['frozen'](key, x, None)
        p = F.normalize(self.sums[:seen] / self.counts[:seen, None], dim=1)
        return {'simplecil': (F.normalize(f.double(), dim=1) @ p.t()).float()}


class Ranpac:
    outputs = ['ranpac', 'ranpac-m0']

    def __init__(self, ctx):
        self.ctx = ctx
        self.pet = new_pet()
        self.branches = {'ranpac': RidgeBranch(ctx['M'], ctx['seed'] * 1000 + 1, ctx['nc']),
                         'ranpac-m0': RidgeBranch(0, 0, ctx['nc'])}
        self.gen = torch.Generator().manual_seed(ctx['seed'] * 1000 + 2)

    def fit(self, s):
        model = self.ctx['model']
        if s['t'] == 0:
            w = torch.zeros(self.ctx['nc'], 64)
            init_rows_from_means(w, self.ctx['frozen'](s['train_key'], s['x'], None), s['y'], s['new_ids'])
            w.requires_grad_(True)
            scale = torch.tensor(10.0, requires_grad=True)
            train_pet(model, self.pet, w, scale, s['x'], s['y'], s['seen'], self.ctx['epochs_first'], self.gen)
            self.pet_key = 'ranpac-pet'
        f = self.ctx['frozen'](s['train_key'], s['x'], self.pet, self.pet_key)
        for b in self.branches.values():
            b.update(f, s['y'], self.gen)

    def predict(self, key, x, seen):
        f = self.ctx['frozen'](key, x, self.pet, self.pet_key)
        return {k: b.logits(f, seen) for k, b in self.branches.items()}


class Safe:
    outputs = ['safe', 'safe-slow', 'safe-fast']

    def __init__(self, ctx):
        self.ctx = ctx
        self.slow_pet = new_pet()
        self.slow_b = RidgeBranch(ctx['M'], ctx['seed'] * 1000 + 3, ctx['nc'])
        self.fast_b = RidgeBranch(ctx['M'], ctx['seed'] * 1000 + 4, ctx['nc'])
        self.gen = torch.Generator().manual_seed(ctx['seed'] * 1000 + 5)
        self.agg = (1, 1)
        self.t = -1

    def fit(self, s):
        model, nc = self.ctx['model'], self.ctx['nc']
        self.t = s['t']
        if s['t'] == 0:
            self.sw = torch.zeros(nc, 64)
            init_rows_from_means(self.sw, self.ctx['frozen'](s['train_key'], s['x'], None), s['y'], s['new_ids'])
            self.sw.requires_grad_(True)
            self.ss = torch.tensor(10.0, requires_grad=True)

            def extra(xb, yb, f):
                with torch.no_grad():
                    ft = model(xb, None)
                return transfer_loss(f, ft)
            train_pet(model, self.slow_pet, self.sw, self.ss, s['x'], s['y'], s['seen'], self.ctx['epochs_first'], self.gen, extra)
            for v in self.slow_pet.values():
                v.requires_grad_(False)
            self.sw.requires_grad_(False)
            self.ss.requires_grad_(False)
            self.fast_pet = clone_pet(self.slow_pet)
            self.fw = self.sw.detach().clone()
            self.fs = self.ss.detach().clone()
            self.first_classes = s['seen']
        else:
            self.train_fast(s)
        slow_f = self.ctx['frozen'](s['train_key'], s['x'], self.slow_pet, 'safe-slow')
        self.slow_b.update(slow_f, s['y'], self.gen)
        fast_f = slow_f if s['t'] == 0 else features(model, s['x'], self.fast_pet)
        self.fast_b.update(fast_f, s['y'], self.gen)
        # gamma and logit scale on the validation rows of the seen classes
        zs, zf = self.branch_logits(s['val_key'], s['val_x'], s['seen'])
        best = (-1, None)
        for sc in LOGIT_SCALES:
            for g in GAMMAS:
                z, _ = entropy_aggregate(zf, zs, g, sc)
                a = (z.argmax(1) == s['val_y']).float().mean().item()
                if a > best[0]:
                    best = (a, (g, sc))
        self.agg = best[1]

    def train_fast(self, s):
        model = self.ctx['model']
        seen = s['seen']
        prev = seen - len(s['new_ids'])
        fw = self.fw.detach().clone()
        init_rows_from_means(fw, features(model, s['x'], self.fast_pet), s['y'], s['new_ids'])
        fw.requires_grad_(True)
        self.fw = fw
        self.fs.requires_grad_(True)
        slow_old = self.sw[:self.first_classes]
        ids_slow = torch.arange(self.first_classes)
        ids_fast = torch.arange(prev)

        def extra(xb, yb, f):
            with torch.no_grad():
                f_slow = model(xb, self.slow_pet)
            loss = 0.5 * (1 - F.cosine_similarity(f, f_slow, dim=1, eps=1e-12)).sum()
            ce_f = F.cross_entropy(cosine_logits(fw, self.fs, torch.cat([slow_old, f_slow]), seen), torch.cat([ids_slow, yb]))
            ce_s = F.cross_entropy(cosine_logits(self.sw, self.ss, torch.cat([fw[:prev], f]), seen), torch.cat([ids_fast, yb]))
            return loss + ce_f + ce_s
        train_pet(model, self.fast_pet, fw, self.fs, s['x'], s['y'], seen, self.ctx['epochs_later'], self.gen, extra)

    def branch_logits(self, key, x, seen):
        slow_f = self.ctx['frozen'](key, x, self.slow_pet, 'safe-slow')
        fast_f = slow_f if self.t == 0 else features(self.ctx['model'], x, self.fast_pet)
        return self.slow_b.logits(slow_f, seen), self.fast_b.logits(fast_f, seen)

    def predict(self, key, x, seen):
        zs, zf = self.branch_logits(key, x, seen)
        z, _ = entropy_aggregate(zf, zs, *self.agg)
        return {'safe': z, 'safe-slow': zs, 'safe-fast': zf}


LEARNERS = {'simplecil': SimpleCil, 'ranpac': Ranpac, 'safe': Safe}


# ---------------------------------------------------------------- runs
def load_npy(d, name):
    return np.load(os.path.join(d, name))


def run_seed(model, data, sd, args, methods):
    order = sd['class_order']
    pos = torch.full((data['nc'],), -1, dtype=torch.long)
    pos[torch.tensor(order)] = torch.arange(len(order))
    tr, va = torch.tensor(sd['train_idx']), torch.tensor(sd['val_idx'])
    xtr, ytr = data['cil_x'][tr], pos[data['cil_y'][tr]]
    xva, yva = data['cil_x'][va], pos[data['cil_y'][va]]
    xte, yte = data['test_x'], pos[data['test_y']]
    cache = {}

    def frozen(key, x, pet, pet_key='none'):
        k = (key, pet_key if pet is not None else 'none')
        if k not in cache:
            cache[k] = features(model, x, pet)
        return cache[k]
    ctx = {'model': model, 'nc': data['nc'], 'seed': sd['seed'], 'M': args.M, 'frozen': frozen,
           'epochs_first': args.epochs_first, 'epochs_later': args.epochs_later}
    base, inc = data['base'], data['increment']
    sessions, start = [], 0
    while start < data['nc']:
        size = base if not sessions else inc
        sessions.append(list(range(start, start + size)))
        start += size
    group = torch.zeros(data['nc'], dtype=torch.long)
    for j, ids in enumerate(sessions):
        group[ids] = j
    runs = []
    for name in methods:
        torch.manual_seed(sd['seed'])
        learner = LEARNERS[name](ctx)
        tri = {o: [] for o in learner.outputs}
        top1 = {o: [] for o in learner.outputs}
        t0 = time.perf_counter()
        for t, ids in enumerate(sessions):
            lo, hi = ids[0], ids[-1] + 1
            m = (ytr >= lo) & (ytr < hi)
            mv = yva < hi
            s = {'t': t, 'new_ids': ids, 'seen': hi, 'x': xtr[m], 'y': ytr[m], 'train_key': f'train-{t}',
                 'val_x': xva[mv], 'val_y': yva[mv], 'val_key': f'valseen-{t}'}
            learner.fit(s)
            out = learner.predict('test', xte, hi)
            seen_mask = yte < hi
            for o, z in out.items():
                pred = z.argmax(1)
                ok = (pred == yte) & seen_mask
                tri[o].append([100 * ok[group[yte] == j].float().sum().item() / max(1, (group[yte] == j).sum().item()) for j in range(t + 1)])
                top1[o].append(100 * ok.float().sum().item() / seen_mask.sum().item())
        el = time.perf_counter() - t0
        for o in learner.outputs:
            runs.append({'method': o, 'seed': sd['seed'], 'last_acc': top1[o][-1], 'avg_inc_acc': float(np.mean(top1[o])),
                         'group_acc': tri[o][-1], 'acc_matrix': tri[o], 'time_s': el})
        print(f'seed {sd["seed"]} {name}: ' + ', '.join(f'{o} {top1[o][-1]:.2f}' for o in learner.outputs) + f' ({el:.1f} s)', flush=True)
    return runs


def ridge_probe(ftr, ytr, fte, yte, nc, gen):
    """Linear probe: ridge on [f, 1] to one-hot targets, lambda from the grid on an 80/20 split of the training rows."""
    def aug(f):
        return torch.cat([f.double(), torch.ones(len(f), 1, dtype=torch.float64)], 1)
    A, Y = aug(ftr), F.one_hot(ytr.long(), nc).double()
    perm = torch.randperm(len(ytr), generator=gen)
    k = int(0.8 * len(ytr))
    fi, vi = perm[:k], perm[k:]
    eye = torch.eye(A.shape[1], dtype=torch.float64)
    best = min(LAMBDAS, key=lambda lam: ((A[vi] @ torch.linalg.solve(A[fi].t() @ A[fi] + lam * eye, A[fi].t() @ Y[fi]) - Y[vi]) ** 2).mean().item())
    Wr = torch.linalg.solve(A.t() @ A + best * eye, A.t() @ Y)
    return 100 * ((aug(fte) @ Wr).argmax(1) == yte).float().mean().item()


def probe(model, data, sd):
    """Backbone quality, independent of any continual method (test rows used only to report)."""
    gen = torch.Generator().manual_seed(0)
    out = {}
    fp = features(model, data['pre_x'])
    te5 = data['test_y'] < 5
    fte = features(model, data['test_x'])
    out['probe_pretrain_classes'] = ridge_probe(fp, data['pre_y'], fte[te5], data['test_y'][te5], 5, gen)
    tr = torch.tensor(sd['train_idx'])
    ftr, ytr = features(model, data['cil_x'][tr]), data['cil_y'][tr]
    nc = data['nc']
    out['probe_all_classes'] = ridge_probe(ftr, ytr, fte, data['test_y'], nc, gen)
    means = torch.stack([ftr[ytr == c].double().mean(0) for c in range(nc)])
    cos = F.normalize(fte.double(), dim=1) @ F.normalize(means, dim=1).t()
    out['ncm_cosine_all_classes'] = 100 * (cos.argmax(1) == data['test_y']).float().mean().item()
    d2 = torch.cdist(fte.double(), means)
    out['ncm_euclidean_all_classes'] = 100 * (d2.argmin(1) == data['test_y']).float().mean().item()
    new = data['test_y'] >= 5
    out['ncm_cosine_classes_5_9_only'] = 100 * ((cos[new][:, 5:].argmax(1) + 5) == data['test_y'][new]).float().mean().item()
    out['ncm_cosine_classes_0_4_only'] = 100 * (cos[te5][:, :5].argmax(1) == data['test_y'][te5]).float().mean().item()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out')
    ap.add_argument('--seeds', default=None, help='comma list (default: all seeds in seeds.json)')
    ap.add_argument('--methods', default='simplecil,ranpac,safe')
    ap.add_argument('--pretrain-epochs', type=int, default=10)
    ap.add_argument('--pretrain-seed', type=int, default=0)
    ap.add_argument('--pretrain-head', choices=['cosine', 'linear'], default='cosine')
    ap.add_argument('--epochs-first', type=int, default=5)
    ap.add_argument('--epochs-later', type=int, default=3)
    ap.add_argument('--M', type=int, default=2048)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--load-backbone')
    ap.add_argument('--save-backbone')
    ap.add_argument('--probe', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    meta = json.load(open(os.path.join(args.data, 'seeds.json')))
    data = {
        'pre_x': torch.from_numpy(load_npy(args.data, 'pretrain_x.npy')), 'pre_y': torch.from_numpy(load_npy(args.data, 'pretrain_y.npy')).long(),
        'cil_x': torch.from_numpy(load_npy(args.data, 'cil_x.npy')), 'cil_y': torch.from_numpy(load_npy(args.data, 'cil_y.npy')).long(),
        'test_x': torch.from_numpy(load_npy(args.data, 'test_x.npy')), 'test_y': torch.from_numpy(load_npy(args.data, 'test_y.npy')).long(),
        'nc': meta['numClasses'], 'base': meta['base'], 'increment': meta['increment'],
    }
    seeds = meta['seeds'] if args.seeds is None else [s for s in meta['seeds'] if str(s['seed']) in args.seeds.split(',')]
    record = {'torch': torch.__version__, 'threads': args.threads, 'data': meta['description'], 'split': meta['split'],
              'settings': {k: v for k, v in vars(args).items() if k not in ('data', 'out')}}
    if args.load_backbone:
        model, man = load_backbone(args.load_backbone)
        record['backbone'] = {'loaded': args.load_backbone, 'sha256': man.get('sha256')}
    else:
        t0 = time.perf_counter()
        model, losses = pretrain(data['pre_x'], data['pre_y'], args.pretrain_epochs, args.pretrain_seed, args.pretrain_head)
        record['backbone'] = {'pretrain_time_s': time.perf_counter() - t0, 'losses': losses, 'head': args.pretrain_head, 'seed': args.pretrain_seed}
        print(f'pretrained ({args.pretrain_head} head, seed {args.pretrain_seed}) in {record["backbone"]["pretrain_time_s"]:.1f} s, loss {losses[-1]:.3f}', flush=True)
        if args.save_backbone:
            save_backbone(model, args.save_backbone, {
                'data': {'source': meta['description'], 'classes': [0, 1, 2, 3, 4], 'rows': int(len(data['pre_y'])),
                         'supervision': 'supervised on classes 0-4 of the pretraining pool (PyTorch peer)'},
                'seed': args.pretrain_seed,
                'train': {'epochs': args.pretrain_epochs, 'batchSize': 128, 'lr': 0.05, 'momentum': 0.9, 'weightDecay': 5e-4},
                'finalLoss': losses[-1]})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if args.probe:
        record['probe'] = probe(model, data, seeds[0])
        print('probe ' + json.dumps(record['probe']), flush=True)
    methods = [m for m in args.methods.split(',') if m]
    runs = []
    for sd in seeds:
        runs += run_seed(model, data, sd, args, methods)
    summary = {}
    for m in sorted({r['method'] for r in runs}):
        rs = [r for r in runs if r['method'] == m]
        la = [r['last_acc'] for r in rs]
        summary[m] = {'last_acc_mean': float(np.mean(la)), 'last_acc_std': float(np.std(la, ddof=1)) if len(la) > 1 else 0.0,
                      'avg_inc_acc_mean': float(np.mean([r['avg_inc_acc'] for r in rs])), 'n': len(rs),
                      'time_per_seed_s': float(np.mean([r['time_s'] for r in rs]))}
    record['runs'] = runs
    record['summary'] = summary
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=1)
    print(json.dumps({'summary': summary, 'backbone': record['backbone'], **({'probe': record['probe']} if 'probe' in record else {})}))


if __name__ == '__main__':
    main()
