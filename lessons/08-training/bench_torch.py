"""make bench: training throughput of the C Transformer next to PyTorch's, in one run.

Only `make bench` runs this script (the fixture generators in tests/fixtures are the other Python). It
  1. checks that PyTorch multiplies matrices with a real BLAS: Debian's python3-torch is
     built against the generic libblas.so.3 and gets whichever implementation the
     alternatives system points that name at; without libopenblas0-pthread that is the
     netlib reference BLAS, tens of times slower, and the comparison would flatter C;
  2. alternates runs: for each round and each configuration, `build/transformer bench`
     (2 threads, and 1 thread for toy: threading must never lose) and this script's own
     worker (PyTorch on 1 and on 2 threads), each in a fresh process so that its peak RSS
     (getrusage of the child) is its own; the order flips every round so slow drift of a
     shared machine hits both sides alike;
  3. prints the medians (min-max and spread), C over PyTorch's better thread setting, and
     writes the same text to one file (build/bench.txt) that the lesson pages quote.

The PyTorch model is the C model: post-LN encoder-decoder (§3.1) with ReLU FFN, no final
stack LayerNorm, shared embeddings ×√d_model tied with the output projection (§3.4),
sinusoidal positions (§3.5), dropout 0.1 (§5.4), label smoothing 0.1, Adam β=(0.9, 0.98)
ε=1e-9 with the warmup schedule of §5.3 (4000 steps), random tokens, full sequences.

  python3 lessons/08-training/bench_torch.py --c build/transformer [--runs 5]
        [--seconds 4] [--configs toy,small,base] [--out build/bench.txt]
  python3 lessons/08-training/bench_torch.py worker CONFIG THREADS SECONDS   (one PyTorch run)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

CONFIGS = {
    # name: (d_model, heads, d_ff, layers, vocab, src_len, tgt_len, batch); the C side's
    # bench_configs in lessons/08-training/transformer.c
    "toy": (64, 4, 256, 2, 64, 16, 16, 32),
    "small": (128, 4, 512, 3, 1000, 32, 32, 32),
    "base": (512, 8, 2048, 6, 8000, 32, 32, 16),
}

BLAS_HELP = ("Debian: sudo apt-get install libopenblas0-pthread (python3-torch then "
             "picks it up through libblas.so.3; check with "
             "update-alternatives --display libblas.so.3-x86_64-linux-gnu)")


# ---- the PyTorch side: one configuration in this process ------------------------------

def build_model(torch, nn, d, h, ff, L, V, maxlen=256):
    """The C model in PyTorch modules (see the top of the file)."""
    import math

    class Seq2Seq(nn.Module):
        def __init__(s):
            super().__init__()
            s.d = d
            s.emb = nn.Embedding(V, d)
            nn.init.normal_(s.emb.weight, std=d ** -0.5)
            pe = torch.zeros(maxlen, d)
            pos = torch.arange(maxlen).unsqueeze(1)
            div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div)
            s.register_buffer("pe", pe)
            s.drop = nn.Dropout(0.1)
            enc = nn.TransformerEncoderLayer(d, h, ff, 0.1, batch_first=True)  # post-LN
            dec = nn.TransformerDecoderLayer(d, h, ff, 0.1, batch_first=True)
            # No final stack LayerNorm: every post-LN layer already ends in one.
            s.tf = nn.Transformer(d, h, L, L, ff, 0.1, batch_first=True,
                                  custom_encoder=nn.TransformerEncoder(enc, L, norm=None),
                                  custom_decoder=nn.TransformerDecoder(dec, L, norm=None))
            for p in s.tf.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

        def embed(s, x):
            return s.drop(s.emb(x) * math.sqrt(s.d) + s.pe[: x.size(1)])

        def forward(s, src, tgt):
            T = tgt.size(1)
            mask = torch.triu(torch.full((T, T), float("-inf")), 1)
            y = s.tf(s.embed(src), s.embed(tgt), tgt_mask=mask)
            return y @ s.emb.weight.t()  # tied generator, §3.4

    return Seq2Seq()


def worker(name, threads, seconds):
    """Times PyTorch training steps of one configuration; prints one result line."""
    import resource
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    d, h, ff, L, V, S, T, B = CONFIGS[name]
    m = build_model(torch, nn, d, h, ff, L, V)
    opt = torch.optim.Adam(m.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda st: d ** -0.5 * min((st + 1) ** -0.5, (st + 1) * 4000 ** -1.5))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    src = torch.randint(1, V, (B, S))
    tgt = torch.randint(1, V, (B, T + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = m(src, tgt[:, :-1])
        loss = loss_fn(logits.reshape(-1, V), tgt[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        sched.step()

    for _ in range(3):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name} threads={torch.get_num_threads()} steps={n} ms/step={1e3 * dt / n:.1f} "
          f"tgt_tok/s={n * B * T / dt:.0f} peak_rss_mb={rss:.0f}", flush=True)


def torch_environment():
    """PyTorch's version, its BLAS as built and as loaded, and a quick sgemm speed, found
    by a child process (the driver never imports torch: a child forked from a process
    holding torch would count torch's pages in its own peak RSS); None when PyTorch is
    missing."""
    p = subprocess.run([sys.executable, __file__, "env"], stdout=subprocess.PIPE, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def print_environment():
    """torch_environment's child: prints the facts as JSON, exits 1 without PyTorch."""
    try:
        import torch
    except ImportError:
        sys.exit(1)
    torch.set_num_threads(1)
    a = torch.randn(512, 512)
    a @ a  # loads the BLAS
    built = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    loaded = sorted({line.split()[-1] for line in open("/proc/self/maps")
                     if re.search(r"blas|mkl", line.split()[-1] if len(line.split()) > 5 else "")})
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        a @ a
        n += 1
    gflops = n * 2 * 512 ** 3 / (time.perf_counter() - t0) / 1e9
    real = any(re.search(r"openblas|mkl|blis", p) for p in loaded) or gflops > 10
    print(json.dumps({"version": torch.__version__, "built": built.group(1) if built else "?",
                      "loaded": loaded, "gflops": gflops, "real": real,
                      "interop": torch.get_num_interop_threads()}))


# ---- the driver: alternated runs of both sides ------------------------------------------

def run_child(argv, env):
    """Runs a child to completion; returns (stdout, peak RSS in MB of that child)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed with status {p.returncode}")
    return out, usage.ru_maxrss / 1024


def field(text, key):
    """The number after `key=` in a result line."""
    found = re.search(re.escape(key) + r"=([0-9.]+)", text)
    return float(found.group(1)) if found else float("nan")


def run_c(prog, name, threads, seconds):
    out, rss = run_child([prog, "bench", "--threads", str(threads), "--configs", name,
                          "--seconds", str(seconds)], dict(os.environ))
    line = next((l for l in out.splitlines() if l.startswith(name)), "")
    return {"tok": field(line, "tgt_tok/s"), "gflops": field(line, "GFLOP/s"), "rss": rss,
            "head": out.splitlines()[0] if out else ""}


def run_torch(name, threads, seconds):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out, rss = run_child([sys.executable, __file__, "worker", name, str(threads), str(seconds)], env)
    return {"tok": field(out, "tgt_tok/s"), "rss": rss}


def summary(values):
    """'median (min-max, spread %)' of a list of rates."""
    med = statistics.median(values)
    spread = 100 * (max(values) - min(values)) / med if med else 0
    return med, f"{med:8.0f} ({min(values):.0f}-{max(values):.0f}, spread {spread:.0f}%)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--c", default="build/transformer", help="the C program")
    ap.add_argument("--runs", type=int, default=5, help="alternated rounds")
    ap.add_argument("--seconds", type=float, default=4.0, help="measuring time of one run")
    ap.add_argument("--configs", default="toy,small,base")
    ap.add_argument("--threads", type=int, default=2, help="C threads (toy also runs on 1)")
    ap.add_argument("--out", default="build/bench.txt")
    args = ap.parse_args()
    names = args.configs.split(",")
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    env = torch_environment()
    say(f"make bench: {args.runs} alternated rounds, {args.seconds:g} s per run, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}")
    say(f"C: {args.c} bench --threads {args.threads} (toy also --threads 1); "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} in the caller's "
        f"environment (the program sets its own, see lessons/08-training/4-training-loop.md)")
    if env is None:
        say("PyTorch: not installed (Debian: sudo apt-get install python3-torch "
            "libopenblas0-pthread); C alone")
    else:
        say(f"PyTorch {env['version']}: BLAS_INFO={env['built']} at build time, loaded "
            f"{', '.join(env['loaded']) or 'no BLAS library'}; sgemm 512³ on 1 thread "
            f"{env['gflops']:.1f} GFLOP/s; threads 1 and 2 (torch.set_num_threads, "
            f"OMP_NUM_THREADS), {env['interop']} inter-op thread")
        if not env["real"]:
            say(f"WARNING: PyTorch runs on the reference BLAS; its numbers are meaningless. "
                f"{BLAS_HELP}")
    say()

    c_threads = {n: ([args.threads, 1] if n == "toy" and args.threads != 1 else [args.threads])
                 for n in names}
    results = {n: {"c": {t: [] for t in c_threads[n]}, "c_gflops": [], "c_rss": [],
                   "torch": {1: [], 2: []}, "torch_rss": {1: [], 2: []}} for n in names}
    for r in range(args.runs):
        for n in names:
            jobs = [("c", t) for t in c_threads[n]] + ([("torch", 1), ("torch", 2)] if env else [])
            if r % 2:
                jobs.reverse()  # flip the order every round
            for side, t in jobs:
                res = results[n]
                if side == "c":
                    got = run_c(args.c, n, t, args.seconds)
                    res["c"][t].append(got["tok"])
                    if t == args.threads:
                        res["c_gflops"].append(got["gflops"])
                        res["c_rss"].append(got["rss"])
                else:
                    got = run_torch(n, t, args.seconds)
                    res["torch"][t].append(got["tok"])
                    res["torch_rss"][t].append(got["rss"])
                print(f"  round {r + 1} {n:5s} {side:5s} threads={t}: {got['tok']:.0f} tok/s, "
                      f"peak RSS {got['rss']:.0f} MB", file=sys.stderr, flush=True)

    say("target tokens/s: median (min-max, spread = (max-min)/median) over the rounds")
    for n in names:
        res = results[n]
        d, h, ff, L, V, S, T, B = CONFIGS[n]
        say(f"{n} (d_model {d}, h {h}, d_ff {ff}, N {L}, V {V}, B {B}, S {S}, T {T})")
        c_med, text = summary(res["c"][args.threads])
        say(f"  C       threads={args.threads} {text}  {statistics.median(res['c_gflops']):.1f} "
            f"GFLOP/s  peak RSS {statistics.median(res['c_rss']):.0f} MB")
        if len(c_threads[n]) > 1:
            one_med, text = summary(res["c"][1])
            pairs = [two / one for two, one in zip(res["c"][args.threads], res["c"][1])]
            say(f"  C       threads=1 {text}")
            say(f"  C {args.threads} threads / 1 thread: median {c_med / one_med:.2f}, worst "
                f"round {min(pairs):.2f} ({'never slower' if min(pairs) >= 1 else 'slower in some round'})")
        if env:
            meds = {}
            for t in (1, 2):
                meds[t], text = summary(res["torch"][t])
                say(f"  PyTorch threads={t} {text}  peak RSS "
                    f"{statistics.median(res['torch_rss'][t]):.0f} MB")
            best = max(meds, key=meds.get)
            say(f"  C / PyTorch (its better setting, threads={best}): {c_med / meds[best]:.2f}x")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        threads = sys.argv[3]
        os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = threads
        worker(sys.argv[2], int(threads), float(sys.argv[4]))
    elif len(sys.argv) == 2 and sys.argv[1] == "env":
        print_environment()
    else:
        main()
