#!/usr/bin/env python3
"""PyTorch reference for `snnbench bench cnn`: the SpikingCNN of the seed timestep study
(Quantized_SNN models/snn_model.py, as digested in reference/SEED-REPOS.md section 2), written
the way the seed ran it: the same input every step, conv1 recomputed at every step, IF neurons
with a hard reset through the spike (mem *= 1 - s), threshold 0.5, fast-sigmoid surrogate of
slope 10, two max-pools after conv2, dropout 0.3 before fc1, mean of the per-step logits.

Same interface as ../shared/bench/torch_ref.py: argv = DATA_DIR [EPOCHS] [SAMPLES], env THREADS;
trains with Adam 1e-3, batch 128, T=4, gradient clipping 1.0 and prints one JSON line."""
import gzip, json, os, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FastSigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).float()

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ctx.slope / (1 + ctx.slope * x.abs()) ** 2, None


def spike(x):
    return FastSigmoidSpike.apply(x, 10.0)


class SpikingCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 7 * 7, 256)
        self.fc2 = nn.Linear(256, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x, T=4):
        mem1 = mem2 = mem3 = 0.0
        out = 0.0
        for _ in range(T):
            mem1 = mem1 + self.conv1(x)
            s1 = spike(mem1 - 0.5)
            mem1 = mem1 * (1 - s1)
            mem2 = mem2 + self.pool(self.pool(self.conv2(s1)))
            s2 = spike(mem2 - 0.5)
            mem2 = mem2 * (1 - s2)
            mem3 = mem3 + self.fc1(self.drop(s2.view(s2.size(0), -1)))
            s3 = spike(mem3 - 0.5)
            mem3 = mem3 * (1 - s3)
            out = out + self.fc2(s3)
        return out / T


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/datasets/fashion-mnist'
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    torch.manual_seed(42)
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    xs = idx(os.path.join(root, 'train-images-idx3-ubyte.gz'))[:limit].astype(np.float32) / 255.0
    ys = idx(os.path.join(root, 'train-labels-idx1-ubyte.gz'))[:limit].astype(np.int64)
    mean, std = 0.2860, 0.3530
    X = torch.from_numpy((xs - mean) / std).unsqueeze(1)
    Y = torch.from_numpy(ys)
    m = SpikingCNN()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    n, B, t_train = X.shape[0], 128, 0.0
    for _ in range(epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        m.train()
        for i in range(0, n, B):
            idb = perm[i:i + B]
            opt.zero_grad()
            loss = F.cross_entropy(m(X[idb]), Y[idb])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        t_train += time.perf_counter() - t0
    print(json.dumps({"threads": torch.get_num_threads(), "model": "spiking_cnn",
                      "params": sum(p.numel() for p in m.parameters()),
                      "train_samples_per_s": epochs * n / t_train}))


if __name__ == '__main__':
    main()
