"""make bench: training and decoding throughput of the C Transformer next to PyTorch's, in one run.

Only `make bench` runs this script (the fixture generators in tests/fixtures are the other Python). It
  1. checks that PyTorch multiplies matrices with a real BLAS: Debian's python3-torch is
     built against the generic libblas.so.3 and gets whichever implementation the
     alternatives system points that name at; without libopenblas0-pthread that is the
     netlib reference BLAS, tens of times slower, and the comparison would flatter C;
  2. measures the sgemm peak of the machine: a big square product in the project's own
     matmul_nn (build/matmul_peak) and in torch.mm (OpenBLAS), both on 2 threads, and
     matmul_nn on 1 thread (what the second core adds);
  3. alternates training runs: for each round and each configuration, `build/transformer
     bench` (2 threads, and 1 thread for toy: threading must never lose) and this
     script's own worker (PyTorch on 1 and on 2 threads), each in a fresh process so that
     its peak RSS (getrusage of the child) is its own; the order flips every round so
     slow drift of a shared machine hits both sides alike; then the same rounds for the
     width sweep w64..w512 (d_ff = 4·d_model, d_k = 32, N 2), the data of a chart; then
     toy again, C on 2 and 1 threads next to a Python busy loop that takes one core (what
     a browser or the viewer's drawing thread does on a laptop: each step's timing should
     fall back to 1 thread);
  4. alternates decoding runs: build/decode_bench (lessons/09-inference) against
     lessons/09-inference/decode_torch.py with the same weights (the shipped checkpoint,
     and a random base-size model that decode_bench saves as a checkpoint), greedy and
     beam 4, each with and without a KV cache; and runs build/kvcache_demo for the time
     per token against position;
  5. prints the medians (min-max and spread), C over PyTorch's better thread setting,
     every target of issue 13 as "target: X >= Y: measured Z (PASS/MISS)", writes the
     same text to one file (build/bench.txt) that the lesson pages quote, and draws the
     charts (build/bench-width.png, build/bench-position.png) with build/bench-plot.

The PyTorch model is the C model: post-LN encoder-decoder (§3.1) with ReLU FFN, no final
stack LayerNorm, shared embeddings ×√d_model tied with the output projection (§3.4),
sinusoidal positions (§3.5), dropout 0.1 (§5.4), label smoothing 0.1, Adam β=(0.9, 0.98)
ε=1e-9 with the warmup schedule of §5.3 (4000 steps), random tokens, full sequences.

  python3 lessons/08-training/bench_torch.py --c build/transformer [--runs 5]
        [--seconds 4] [--configs toy,small,base] [--widths w64,w128,w256,w512]
        [--decode-runs 3] [--out build/bench.txt]    (--help lists the rest)
  python3 lessons/08-training/bench_torch.py worker CONFIG THREADS SECONDS   (one PyTorch run)
  python3 lessons/08-training/bench_torch.py peak THREADS SECONDS N         (torch.mm's peak)
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
    # the width sweep (the chart of lesson 08 part 4): d_ff = 4·d_model, d_k = 32, N = 2
    "w64": (64, 2, 256, 2, 1000, 32, 32, 16),
    "w128": (128, 4, 512, 2, 1000, 32, 32, 16),
    "w256": (256, 8, 1024, 2, 1000, 32, 32, 16),
    "w512": (512, 16, 2048, 2, 1000, 32, 32, 16),
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
    p = subprocess.run([sys.executable, __file__, "env"], stdout=subprocess.PIPE, text=True,
                       env=threads_env(1))
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


def peak_worker(threads, seconds, n):
    """torch.mm of two (n,n) matrices for `seconds`: OpenBLAS's sgemm peak; one line."""
    import torch
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        count += 1
    gflops = count * 2 * n ** 3 / (time.perf_counter() - t0) / 1e9
    print(f"torch.mm n={n} threads={torch.get_num_threads()} products={count} GFLOP/s={gflops:.1f}")


# ---- the driver: alternated runs of both sides ------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
DECODE_TORCH = os.path.join(HERE, "..", "09-inference", "decode_torch.py")
WIDTHS = "w64,w128,w256,w512"
SPIN_COUNT = 10000  # THREADS_SPIN_COUNT in src/common.h
DECODE_WAYS = [("greedy", "on"), ("greedy", "off"), ("beam4", "on"), ("beam4", "off")]


def run_child(argv, env=None):
    """Runs a child to completion; returns (stdout, peak RSS in MB of that child)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env or dict(os.environ), text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed with status {p.returncode}")
    return out, usage.ru_maxrss / 1024


def threads_env(threads):
    """The environment of a PyTorch child on `threads` threads (OpenMP and OpenBLAS)."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))


def field(text, key):
    """The number after `key=` in a result line."""
    found = re.search(re.escape(key) + r"=([0-9.]+)", text)
    return float(found.group(1)) if found else float("nan")


def run_c(prog, name, threads, seconds):
    out, rss = run_child([prog, "bench", "--threads", str(threads), "--configs", name,
                          "--seconds", str(seconds)])
    line = next((l for l in out.splitlines() if l.startswith(name)), "")
    return {"tok": field(line, "tgt_tok/s"), "gflops": field(line, "GFLOP/s"), "rss": rss,
            "most": field(line, f"steps_on_{threads}_threads")}


def run_torch(name, threads, seconds):
    out, rss = run_child([sys.executable, __file__, "worker", name, str(threads), str(seconds)],
                         threads_env(threads))
    return {"tok": field(out, "tgt_tok/s"), "rss": rss}


def decode_lines(out):
    """{(way, cache): (sent/s, tok/s)} from decode_bench's (or decode_torch's) output."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"decode \S+ (\S+) cache=(\S+) ", line)
        if m:
            found[(m.group(1), m.group(2))] = (field(line, "sent/s"), field(line, "tok/s"))
    agree = re.search(r"greedy agreement: (\d+)/(\d+)", out)
    return found, (agree.group(0) if agree else None)


def summary(values):
    """'median (min-max, spread %)' of a list of rates."""
    med = statistics.median(values)
    spread = 100 * (max(values) - min(values)) / med if med else 0
    return med, f"{med:8.0f} ({min(values):.0f}-{max(values):.0f}, spread {spread:.0f}%)"


def median(values):
    """The median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


def target(say, what, goal, measured, ok):
    """One target line of issue 13: 'target: WHAT GOAL: measured X (PASS/MISS)'."""
    say(f"target: {what} {goal}: measured {measured} ({'PASS' if ok else 'MISS'})")


class Progress:
    """Counts finished jobs against their estimated seconds; prints elapsed time and an
    ETA that scales the estimates by how fast the finished ones actually went."""

    def __init__(self, weights):
        self.total, self.done, self.n, self.k = sum(weights), 0.0, len(weights), 0
        self.start = time.perf_counter()
        print(f"bench: {self.n} runs, about {self.total / 60:.0f} min on an idle machine", file=sys.stderr)

    def step(self, weight, text):
        self.k += 1
        self.done += weight
        elapsed = time.perf_counter() - self.start
        eta = (self.total - self.done) * elapsed / self.done if self.done else 0
        print(f"  [{self.k}/{self.n} {elapsed / 60:4.1f} min, ETA {eta / 60:4.1f} min] {text}",
              file=sys.stderr, flush=True)


def make_jobs(args, names, widths, env):
    """The whole bench as a list of (phase, round, what, estimated seconds) in run order:
    sgemm peaks, training (names), the width sweep, decoding; both sides alternate and
    the order flips every round."""
    torch_up = 3 if env else 0  # a PyTorch child's start-up
    jobs = []

    def rounds(n, phase, per_round):
        for r in range(n):
            one = per_round(r)
            jobs.extend((phase, r, what, w) for what, w in (one[::-1] if r % 2 else one))

    # C on 1 thread too: how much the second core adds on this machine at this hour (a VM's
    # two vCPUs may share one physical core), which every 2-thread figure below inherits
    pair = [("c", 1 + args.peak_seconds)] + ([("c1", 1 + args.peak_seconds)] if args.threads > 1 else []) \
        + ([("torch", torch_up + args.peak_seconds)] if env else [])
    rounds(args.peak_runs, "peak", lambda r: pair)
    for n in names:
        c_threads = [args.threads] + ([1] if n == "toy" and args.threads != 1 else [])
        sides = [(("c", t), args.seconds + 1) for t in c_threads]
        sides += [(("torch", t), args.seconds + torch_up) for t in (1, 2)] if env else []
        rounds(args.runs, "train", lambda r, n=n, s=sides: [((n,) + what, w) for what, w in s])
    for n in widths:
        sides = [(("c", args.threads), args.width_seconds + 1)]
        sides += [(("torch", t), args.width_seconds + torch_up) for t in (1, 2)] if env else []
        rounds(args.width_runs, "width", lambda r, n=n, s=sides: [((n,) + what, w) for what, w in s])
    if args.load_runs > 0 and "toy" in names and args.threads > 1:
        sides = [(("toy", "c", t), args.seconds + 1) for t in (args.threads, 1)]
        rounds(args.load_runs, "load", lambda r, s=sides: s)
    if args.decode_runs > 0:
        for label, c_w, t_w in (("shipped", 4, 12), ("base", 20, 40)):
            sides = [("c", c_w)] + ([("torch", t_w)] if env else [])
            rounds(args.decode_runs, "decode", lambda r, l=label, s=sides: [((l, side), w) for side, w in s])
        jobs.append(("curve", 0, None, 8))
    return jobs


def run_job(args, job, results):
    """Runs one job of make_jobs, files its figures in results; returns a progress text."""
    phase, r, what, _ = job
    build = os.path.dirname(args.out) or "."
    if phase == "peak":
        side = what
        if side in ("c", "c1"):
            out, _ = run_child([args.peak_program, "--n", str(args.peak_n),
                                "--threads", str(args.threads if side == "c" else 1),
                                "--seconds", str(args.peak_seconds)])
        else:
            out, _ = run_child([sys.executable, __file__, "peak", str(args.threads), str(args.peak_seconds),
                                str(args.peak_n)], threads_env(args.threads))
        results["peak"][side].append(field(out, "GFLOP/s"))
        return f"round {r + 1} sgemm peak {side}: {results['peak'][side][-1]:.1f} GFLOP/s"
    if phase in ("train", "width"):
        n, side, t = what
        got = run_c(args.c, n, t, args.seconds if phase == "train" else args.width_seconds) if side == "c" \
            else run_torch(n, t, args.seconds if phase == "train" else args.width_seconds)
        res = results["train"].setdefault(n, {"c": {}, "torch": {}, "c_gflops": [], "c_rss": [],
                                              "c_most": [], "torch_rss": {}})
        res[side].setdefault(t, []).append(got["tok"])
        if side == "c" and t == args.threads:
            res["c_gflops"].append(got["gflops"])
            res["c_rss"].append(got["rss"])
            res["c_most"].append(got["most"])
        elif side == "torch":
            res["torch_rss"].setdefault(t, []).append(got["rss"])
        return f"round {r + 1} {n:5s} {side:5s} threads={t}: {got['tok']:.0f} tok/s, peak RSS {got['rss']:.0f} MB"
    if phase == "load":
        n, _, t = what
        # A busy loop in another process takes one core for the whole C run, as a browser or
        # the viewer's drawing thread would: the ThreadChooser should fall back to 1 thread.
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            got = run_c(args.c, n, t, args.seconds)
        finally:
            hog.kill()
            hog.wait()
        res = results["load"].setdefault(t, {"tok": [], "most": []})
        res["tok"].append(got["tok"])
        res["most"].append(got["most"])
        return f"round {r + 1} {n:5s} c     threads={t} next to a busy process: {got['tok']:.0f} tok/s"
    if phase == "decode":
        label, side = what
        ids = os.path.join(build, f"decode-{label}.ids")
        ckpt = args.model if label == "shipped" else os.path.join(build, "decode-base.ckpt")
        if side == "c":
            argv = [args.decode_program, label, "--threads", str(args.decode_threads)]
            argv += ["--sentences", str(args.decode_sentences), "--model", args.model, "--test", args.test] \
                if label == "shipped" else ["--sentences", "1", "--tokens", "30"]
            if r == 0:  # the sources (and the base model's weights) for the PyTorch side
                argv += ["--ids", ids] + (["--save", ckpt] if label == "base" else [])
            out, _ = run_child(argv)
        else:
            out, _ = run_child([sys.executable, DECODE_TORCH, label, ckpt, ids, str(args.decode_threads)]
                               + (["30"] if label == "base" else []), threads_env(args.decode_threads))
        found, agree = decode_lines(out)
        res = results["decode"].setdefault(label, {"c": {}, "torch": {}, "agree": None})
        for way, rates in found.items():
            res[side].setdefault(way, []).append(rates)
        if agree:
            res["agree"] = agree
        beam = found.get(("beam4", "on"), (float("nan"),) * 2)
        return f"round {r + 1} decode {label} {side}: beam4 cached {beam[1]:.1f} tok/s"
    out, _ = run_child([args.curve_program, "60", "--data", os.path.join(build, "bench-position.txt")])
    results["curve"] = out
    return "time per token against position (kvcache_demo 60)"


def say_training(say, args, names, results, env):
    """The training table: medians, spreads, RSS, C over PyTorch's better setting."""
    say("training, target tokens/s: median (min-max, spread = (max-min)/median) over the rounds")
    for n in names:
        res = results["train"][n]
        d, h, ff, L, V, S, T, B = CONFIGS[n]
        say(f"{n} (d_model {d}, h {h}, d_ff {ff}, N {L}, V {V}, B {B}, S {S}, T {T})")
        c_med, text = summary(res["c"][args.threads])
        res["c_med"] = c_med
        most = [m for m in res["c_most"] if m == m]
        share = f", {median(most):.0f}% of steps on {args.threads} threads" if most and args.threads > 1 else ""
        say(f"  C       threads={args.threads} {text}  {median(res['c_gflops']):.1f} "
            f"GFLOP/s  peak RSS {median(res['c_rss']):.0f} MB{share}")
        if 1 in res["c"] and args.threads != 1:
            one_med, text = summary(res["c"][1])
            pairs = [two / one for two, one in zip(res["c"][args.threads], res["c"][1])]
            res["worst_pair"] = min(pairs)
            say(f"  C       threads=1 {text}")
            say(f"  C {args.threads} threads / 1 thread: median {c_med / one_med:.2f}, worst "
                f"round {min(pairs):.2f} ({'never slower' if min(pairs) >= 1 else 'slower in some round'})")
        if env:
            meds = {}
            for t in (1, 2):
                meds[t], text = summary(res["torch"][t])
                say(f"  PyTorch threads={t} {text}  peak RSS {median(res['torch_rss'][t]):.0f} MB")
            best = max(meds, key=meds.get)
            res["torch_best"], res["ratio"] = meds[best], c_med / meds[best]
            say(f"  C / PyTorch (its better setting, threads={best}): {c_med / meds[best]:.2f}x")


def say_widths(say, args, widths, results, env, stamp):
    """The width sweep's table, and its chart data (build/bench-width.txt)."""
    if not widths:
        return
    say(f"training against width (d_ff = 4·d_model, d_k = 32, N 2, V 1000, B 16, S = T = 32), "
        f"median of {args.width_runs} rounds of {args.width_seconds:g} s, target tokens/s")
    c_points, t_points = [], []
    for n in widths:
        res = results["train"][n]
        c = median(res["c"][args.threads])
        line = f"  d_model {CONFIGS[n][0]:4d}: C threads={args.threads} {c:8.0f}  {median(res['c_gflops']):6.1f} GFLOP/s"
        c_points.append((CONFIGS[n][0], c))
        if env:
            meds = {t: median(res["torch"][t]) for t in (1, 2)}
            best = max(meds, key=meds.get)
            t_points.append((CONFIGS[n][0], meds[best]))
            line += f"   PyTorch best (threads={best}) {meds[best]:8.0f}   C/PyTorch {c / meds[best]:.2f}x"
        say(line)
    with open(os.path.join(os.path.dirname(args.out) or ".", "bench-width.txt"), "w") as f:
        f.write("title Training throughput against model width\n")
        f.write("xlabel d_model  (d_ff = 4·d_model, d_k = 32, N = 2, V = 1000, B = 16, S = T = 32)\n")
        f.write("ylabel target tokens/s (median)\nlogx\nlogy\n")
        f.write(f"note {stamp}, medians of {args.width_runs} alternated rounds of {args.width_seconds:g} s\n")
        f.write(f"series C, {args.threads} threads\n" + "".join(f"{x} {y:.1f}\n" for x, y in c_points))
        if t_points:
            f.write("series PyTorch, its better of 1 and 2 threads\n" + "".join(f"{x} {y:.1f}\n" for x, y in t_points))


def say_decoding(say, args, results, env):
    """The decoding tables: sentences/s and tokens/s, four ways, both sides, ratios."""
    if not results["decode"]:
        return
    say(f"decoding, one sentence at a time, {args.decode_threads} thread(s) on both sides; median of "
        f"{args.decode_runs} alternated rounds; tokens = output tokens, </s> included")
    for label, res in results["decode"].items():
        if label == "shipped":
            say(f"shipped model {args.model}, the first {args.decode_sentences} sentences of {args.test}, "
                f"outputs end at their own </s>")
        else:
            say("base-size model (random weights, seed 1: d_model 512, h 8, d_ff 2048, N 6, V 8000), "
                "a 30-token source, exactly 30 output tokens (</s> forbidden)")
        say("  way            C sent/s    tok/s   PyTorch sent/s    tok/s   C/PyTorch")
        med = {}
        for way in DECODE_WAYS:
            for side in ("c", "torch"):
                rates = res[side].get(way, [])
                med[side, way] = (median([a for a, _ in rates]), median([b for _, b in rates]))
            c, t = med["c", way], med["torch", way]
            say(f"  {way[0]:6s} cache={way[1]:3s} {c[0]:9.2f} {c[1]:8.1f}   {t[0]:14.2f} {t[1]:8.1f}   "
                f"{c[1] / t[1] if t[1] else float('nan'):8.2f}x")
        for side, name in (("c", "C"), ("torch", "PyTorch")):
            say(f"  {name}: cached / cache-free, greedy {med[side, DECODE_WAYS[0]][1] / med[side, DECODE_WAYS[1]][1]:.2f}x,"
                f" beam 4 {med[side, DECODE_WAYS[2]][1] / med[side, DECODE_WAYS[3]][1]:.2f}x")
        if res["agree"]:
            say(f"  sanity: PyTorch's greedy tokens equal C's ({res['agree'].split(': ')[1]} sentences identical)")
        res["med"] = med


def say_load(say, args, results):
    """Toy training next to a busy process: 2 threads against 1, and how often 2 were used."""
    load = results["load"]
    if args.threads not in load or 1 not in load:
        return
    many, one = load[args.threads], load[1]
    most = [m for m in many["most"] if m == m]
    say(f"toy next to a busy process (a Python busy loop taking one core), median of "
        f"{len(one['tok'])} alternated rounds of {args.seconds:g} s, target tokens/s")
    say(f"  C       threads={args.threads}  {median(many['tok']):8.0f}  "
        f"({median(most):.0f}% of steps on {args.threads} threads)")
    say(f"  C       threads=1  {median(one['tok']):8.0f}")
    ratio = median(many["tok"]) / median(one["tok"])
    say(f"  C {args.threads} threads / 1 thread next to it: {ratio:.2f} (each step's timing "
        f"falls back to 1 thread where 2 lose, src/threads.h)")


def say_targets(say, args, names, results, env):
    """Every target of issue 13 as 'target: X >= Y: measured Z (PASS/MISS)'."""
    train = results["train"]
    if "toy" in names and "worst_pair" in train["toy"]:
        w = train["toy"]["worst_pair"]
        target(say, f"toy C {args.threads} threads / 1 thread, worst of {args.runs} rounds", ">= 1.00",
               f"{w:.2f}", w >= 1)
    if "toy" in names:
        v = train["toy"]["c"][args.threads]
        spread = 100 * (max(v) - min(v)) / median(v)
        target(say, f"toy C spread over {len(v)} runs", "< 20%", f"{spread:.0f}%", spread < 20)
    for n, goal in (("toy", 4), ("small", 3), ("base", 2)):
        if n in names and "ratio" in train[n]:
            target(say, f"{n} C / PyTorch", f">= {goal}x", f"{train[n]['ratio']:.2f}x", train[n]["ratio"] >= goal)
    peaks = results["peak"]
    if "base" in names and peaks["c"]:
        own, blas = median(peaks["c"]), median(peaks["torch"]) if peaks["torch"] else float("nan")
        peak = max(own, blas) if blas == blas else own
        frac = median(train["base"]["c_gflops"]) / peak
        target(say, "base training GFLOP/s / sgemm peak", ">= 60%",
               f"{100 * frac:.0f}% ({median(train['base']['c_gflops']):.1f} of {peak:.1f} GFLOP/s)", frac >= 0.6)
    base = results["decode"].get("base", {}).get("med")
    if base:
        c_on, c_off = base["c", ("beam4", "on")][1], base["c", ("beam4", "off")][1]
        target(say, "base beam-4 decoding at 30 tokens, C cached / cache-free", ">= 3x",
               f"{c_on / c_off:.2f}x", c_on / c_off >= 3)
        t_on = base["torch", ("beam4", "on")][1]
        if env and t_on == t_on:
            target(say, "base beam-4 cached decoding, C / PyTorch cached", "> 1x (ahead)",
                   f"{c_on / t_on:.2f}x", c_on > t_on)


def draw_charts(args, say):
    """The PNGs of the width sweep and the position curve, with build/bench-plot."""
    build = os.path.dirname(args.out) or "."
    curve = os.path.join(build, "bench-position.txt")
    if os.path.exists(curve) and not open(curve).read().startswith("title"):
        points = [line.split() for line in open(curve)]
        with open(curve, "w") as f:
            f.write("title Time per decoded token against its position (base size, one sentence, 1 thread)\n")
            f.write("xlabel position of the token in the output\nylabel milliseconds per token\n")
            f.write(f"note build/kvcache_demo 60, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, one run\n")
            f.write("series without the cache (model_decode over the whole prefix)\n")
            f.write("".join(f"{p[0]} {p[1]}\n" for p in points))
            f.write("series with the KV cache (model_decode_step)\n")
            f.write("".join(f"{p[0]} {p[2]}\n" for p in points))
    if not os.path.exists(args.plot_program):
        say(f"(no {args.plot_program}: charts not drawn; `make` builds it, it needs SDL2)")
        return
    for name in ("bench-width", "bench-position"):
        data = os.path.join(build, name + ".txt")
        if os.path.exists(data):
            out, _ = run_child([args.plot_program, data, os.path.join(build, name + ".png")])
            say(out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--c", default="build/transformer", help="the C program")
    ap.add_argument("--runs", type=int, default=5, help="alternated rounds of training")
    ap.add_argument("--seconds", type=float, default=4.0, help="measuring time of one training run")
    ap.add_argument("--configs", default="toy,small,base")
    ap.add_argument("--threads", type=int, default=2, help="C threads (toy also runs on 1)")
    ap.add_argument("--widths", default=WIDTHS, help="the width sweep's configurations ('' skips it)")
    ap.add_argument("--width-runs", type=int, default=3)
    ap.add_argument("--width-seconds", type=float, default=2.0)
    ap.add_argument("--peak-runs", type=int, default=3, help="rounds of the sgemm peak")
    ap.add_argument("--peak-seconds", type=float, default=2.0)
    ap.add_argument("--peak-n", type=int, default=1024, help="the square product's size")
    ap.add_argument("--load-runs", type=int, default=2,
                    help="rounds of toy training next to a busy process (0 skips it)")
    ap.add_argument("--decode-runs", type=int, default=3, help="rounds of decoding (0 skips it)")
    ap.add_argument("--decode-sentences", type=int, default=50)
    ap.add_argument("--decode-threads", type=int, default=1)
    ap.add_argument("--model", default="data/fr-en.ckpt")
    ap.add_argument("--test", default="data/fr-en/test.tsv")
    ap.add_argument("--out", default="build/bench.txt")
    args = ap.parse_args()
    build = os.path.dirname(args.out) or "."
    programs = os.path.dirname(args.c) or "."  # the other programs sit next to transformer
    args.peak_program = os.path.join(programs, "matmul_peak")
    args.decode_program = os.path.join(programs, "decode_bench")
    args.curve_program = os.path.join(programs, "kvcache_demo")
    args.plot_program = os.path.join(programs, "bench-plot")
    names = [n for n in args.configs.split(",") if n]
    widths = [n for n in args.widths.split(",") if n]
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    env = torch_environment()
    stamp = f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores"
    say(f"make bench: {args.runs} alternated rounds of training, {args.seconds:g} s per run, {stamp}, "
        f"load average {os.getloadavg()[0]:.2f} at the start")
    say(f"C: {args.c} bench --threads {args.threads} (toy also --threads 1; each step on 1 or "
        f"{args.threads} threads, whichever its timing finds faster, src/threads.h); OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')}, GOMP_SPINCOUNT="
        f"{os.environ.get('GOMP_SPINCOUNT', '(unset)')} in the caller's environment (unset, the programs "
        f"set GOMP_SPINCOUNT={SPIN_COUNT} themselves, see lessons/08-training/4-training-loop.md); "
        f"no BLAS (src/tensor.c)")
    if env is None:
        say("PyTorch: not installed (Debian: sudo apt-get install python3-torch "
            "libopenblas0-pthread); C alone")
    else:
        say(f"PyTorch {env['version']}: BLAS_INFO={env['built']} at build time, loaded "
            f"{', '.join(env['loaded']) or 'no BLAS library'}; sgemm 512³ on 1 thread "
            f"{env['gflops']:.1f} GFLOP/s; threads 1 and 2 (torch.set_num_threads, "
            f"OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), {env['interop']} inter-op thread")
        if not env["real"]:
            say(f"WARNING: PyTorch runs on the reference BLAS; its numbers are meaningless. "
                f"{BLAS_HELP}")
    say()

    jobs = make_jobs(args, names, widths, env)
    progress = Progress([j[3] for j in jobs])
    results = {"peak": {"c": [], "c1": [], "torch": []}, "train": {}, "load": {}, "decode": {}, "curve": None}
    for job in jobs:
        progress.step(job[3], run_job(args, job, results))

    if results["peak"]["c"]:
        text = f"sgemm peak, (n,n)·(n,n) with n = {args.peak_n} on {args.threads} threads, median of " \
               f"{args.peak_runs}: C matmul_nn {median(results['peak']['c']):.1f} GFLOP/s"
        if results["peak"]["c1"]:
            one = median(results["peak"]["c1"])
            text += f" ({one:.1f} on 1 thread: the second core adds {median(results['peak']['c']) / one:.2f}x)"
        if results["peak"]["torch"]:
            text += f", PyTorch torch.mm (OpenBLAS) {median(results['peak']['torch']):.1f} GFLOP/s"
        say(text)
        say()
    say_training(say, args, names, results, env)
    say()
    if results["load"]:
        say_load(say, args, results)
        say()
    say_widths(say, args, widths, results, env, stamp)
    say()
    say_decoding(say, args, results, env)
    if results["curve"]:
        say()
        say("time per token against position, build/kvcache_demo 60 (one run):")
        for line in results["curve"].splitlines():
            say("  " + line)
    say()
    draw_charts(args, say)
    say()
    say("targets of issue 13 (one run of make bench; this VM swings up to 2x between runs)")
    say_targets(say, args, names, results, env)
    os.makedirs(build, exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        threads = sys.argv[3]
        os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = threads
        worker(sys.argv[2], int(threads), float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "peak":
        peak_worker(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 2 and sys.argv[1] == "env":
        print_environment()
    else:
        main()
