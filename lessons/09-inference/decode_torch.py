"""PyTorch decoding with the C model's weights, for `make bench` (lessons/08-training/bench_torch.py):
the PyTorch side of build/decode_bench (lessons/09-inference/decode_bench.c).

It reads a C checkpoint (the format of src/checkpoint.h: sections CONF and PARM), loads the
flat parameter vector into the PyTorch reference model of the parity tests
(tests/fixtures/torch_model.py, from_c_vector: the layout of src/model.h), and decodes the
sources that decode_bench wrote (its --ids file: "source ids<TAB>C greedy ids" per line)
four ways, greedy and beam 4, each with
  - its own cache-free loop: every step reruns model.decode over the whole prefixes
    (what the C side does with m->decode.full_recompute), and
  - its own cached loop: per decoder layer the self-attention keys and values of the
    positions so far, the cross-attention keys and values of the memory projected once
    per sentence, one new position per step (what the C side's model_decode_step does).
The search is the C one (src/decode.c beam_search): the best (beam - finished) candidates
of all live prefixes survive, a candidate ending in </s> leaves the beam scored
log_prob / lp(|Y|), α = 0.6; beam 1 is greedy. With --tokens N (the base-size model) </s>
is forbidden and every output is exactly N tokens, as in decode_bench base.

  python3 lessons/09-inference/decode_torch.py LABEL CKPT IDS THREADS [TOKENS]

prints one line per way in decode_bench's format, then "greedy agreement: A/N sentences"
(PyTorch's cached greedy output against the C one of the IDS file).
"""
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
from torch_model import TorchTransformer, from_c_vector  # noqa: E402

TOKEN_PAD, TOKEN_BOS, TOKEN_EOS = 0, 1, 2  # src/tokenizer.h
BEAM = 4
ALPHA = 0.6
DECODE_EXTRA_LEN, DECODE_MAX_TOKENS = 50, 256  # src/decode.h


def read_checkpoint(path):
    """(config dict, flat float32 parameter tensor) of a C checkpoint (src/checkpoint.h)."""
    data = open(path, "rb").read()
    if data[:8] != b"TRFCKPT\n":
        sys.exit(f"{path}: not a checkpoint")
    at, config, params = 16, None, None
    while at < len(data) - 8:
        tag, length = data[at:at + 4], struct.unpack_from("<Q", data, at + 8)[0]
        payload = data[at + 16:at + 16 + length]
        if tag == b"CONF":
            names = ("vocab_size", "d_model", "n_heads", "d_ff", "n_layers", "max_len", "max_batch")
            config = dict(zip(names, struct.unpack_from("<7i", payload)))
        elif tag == b"PARM":
            n = struct.unpack_from("<q", payload)[0]
            params = torch.frombuffer(bytearray(payload[8:8 + 4 * n]), dtype=torch.float32)
        elif tag == b"END ":
            break
        at += 16 + length
    if config is None or params is None:
        sys.exit(f"{path}: no CONF or PARM section")
    return config, params


def load_model(path):
    """The PyTorch reference model with the checkpoint's weights, in eval mode."""
    c, params = read_checkpoint(path)
    m = TorchTransformer(c["vocab_size"], c["d_model"], c["n_heads"], c["d_ff"], c["n_layers"],
                         c["max_len"])
    from_c_vector(m, params)
    return m.eval(), c


def split_heads(x, h):
    """(k, L, d_model) -> (k, h, L, d_k), §3.2.2."""
    k, L, d = x.shape
    return x.view(k, L, h, d // h).transpose(1, 2)


def attend(q, keys, values, mha):
    """softmax(q·Kᵀ/√d_k)·V per head (§3.2.1 Eq. 1), heads concatenated, then W^O:
    q (k,h,1,d_k), keys and values (k or 1,h,L,d_k) -> (k,1,d_model)."""
    w = torch.softmax(q @ keys.transpose(-1, -2) / math.sqrt(q.size(-1)), dim=-1)
    heads = (w @ values).transpose(1, 2)
    return mha.out_proj(heads.reshape(heads.size(0), 1, -1))


class FullDecoder:
    """Cache-free: each step reruns the decoder over every live prefix (k,t)."""

    def __init__(self, m, memory, src_len):
        self.m, self.memory, self.src_len, self.prefixes = m, memory, src_len, None

    def log_probs(self, parents, tokens):
        """Log-probabilities (k,V) of the next token after old prefixes[parents] + tokens."""
        tokens = torch.tensor(tokens).unsqueeze(1)
        self.prefixes = tokens if self.prefixes is None else torch.cat(
            [self.prefixes[torch.tensor(parents)], tokens], 1)
        k, t = self.prefixes.shape
        logits = self.m.decode(self.prefixes, [t] * k, self.memory.expand(k, -1, -1), [self.src_len] * k)
        return torch.log_softmax(logits[:, -1], dim=-1)


class CachedDecoder:
    """The KV cache: per layer the self K, V of positions 0..t-1 (k,h,max_len,d_k) and the
    cross K, V of the memory (1,h,S,d_k), projected once; a step computes one position."""

    def __init__(self, m, memory, src_len, max_len):
        self.m, self.t, self.h = m, 0, m.decoder.layers[0].self_attn.num_heads
        d = m.d_model
        self.cross, self.self_k, self.self_v = [], [], []
        for layer in m.decoder.layers:
            w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            k = split_heads(F.linear(memory, w[d:2 * d], b[d:2 * d]), self.h)
            v = split_heads(F.linear(memory, w[2 * d:], b[2 * d:]), self.h)
            self.cross.append((k, v))
            self.self_k.append(torch.zeros(BEAM, self.h, max_len, d // self.h))
            self.self_v.append(torch.zeros(BEAM, self.h, max_len, d // self.h))

    def log_probs(self, parents, tokens):
        """Reorders the cache rows by parents, then one step for tokens (k) at position t."""
        m, t, d, k = self.m, self.t, self.m.d_model, len(tokens)
        if t > 0:
            index = torch.tensor(parents)
            for cache in (self.self_k, self.self_v):
                for l, c in enumerate(cache):
                    cache[l][:k] = c.index_select(0, index)
        x = m.emb(torch.tensor(tokens)).unsqueeze(1) * math.sqrt(d) + m.pe[t]
        for l, layer in enumerate(m.decoder.layers):
            sa = layer.self_attn
            q, key, value = F.linear(x, sa.in_proj_weight, sa.in_proj_bias).chunk(3, dim=-1)
            self.self_k[l][:k, :, t] = split_heads(key, self.h)[:, :, 0]
            self.self_v[l][:k, :, t] = split_heads(value, self.h)[:, :, 0]
            x = layer.norm1(x + attend(split_heads(q, self.h), self.self_k[l][:k, :, :t + 1],
                                       self.self_v[l][:k, :, :t + 1], sa))
            ca = layer.multihead_attn
            q = F.linear(x, ca.in_proj_weight[:d], ca.in_proj_bias[:d])
            x = layer.norm2(x + attend(split_heads(q, self.h), *self.cross[l], ca))
            x = layer.norm3(x + layer.linear2(F.relu(layer.linear1(x))))
        self.t += 1
        return torch.log_softmax(x[:, 0] @ m.emb.weight.t(), dim=-1)


def search(decoder, beam, max_tokens, forbid_end):
    """src/decode.c beam_search (beam 1 = greedy): returns (tokens, finished) of the best."""
    live, live_lp, done = [[]], torch.zeros(1), []
    lp = decoder.log_probs([0], [TOKEN_BOS])
    for t in range(1, max_tokens + 1):
        lp[:, TOKEN_PAD] = lp[:, TOKEN_BOS] = -math.inf
        if forbid_end:
            lp[:, TOKEN_EOS] = -math.inf
        total = (live_lp.unsqueeze(1) + lp).reshape(-1)
        best, index = total.topk(beam - len(done))
        V = lp.size(1)
        parents, tokens, next_live, next_lp = [], [], [], []
        for value, i in zip(best.tolist(), index.tolist()):
            if value == -math.inf:
                continue
            row, token = divmod(i, V)
            if token == TOKEN_EOS:
                done.append((value / ((5 + t) / 6) ** ALPHA, live[row], True))
            else:
                parents.append(row), tokens.append(token)
                next_live.append(live[row] + [token]), next_lp.append(value)
        live, live_lp = next_live, torch.tensor(next_lp)
        if t == max_tokens:
            done += [(v / ((5 + t) / 6) ** ALPHA, y, False) for v, y in zip(next_lp, live)][:beam - len(done)]
            break
        if not live or len(done) >= beam:
            break
        lp = decoder.log_probs(parents, tokens)
    if not done:
        return [], False
    _, tokens, finished = max(done, key=lambda d: d[0])
    return tokens, finished


def decode_all(m, config, sources, beam, cached, forced_tokens):
    """Decodes every source one way; returns (outputs, output tokens with </s>)."""
    outputs, n_tokens = [], 0
    with torch.no_grad():
        for src in sources:
            memory = m.encode(torch.tensor([src]), [len(src)])
            if forced_tokens:
                max_tokens = forced_tokens
            else:
                max_tokens = min(len(src) + DECODE_EXTRA_LEN, config["max_len"], DECODE_MAX_TOKENS - 1)
            decoder = (CachedDecoder(m, memory, len(src), config["max_len"]) if cached
                       else FullDecoder(m, memory, len(src)))
            tokens, finished = search(decoder, beam, max_tokens, forced_tokens > 0)
            outputs.append(tokens)
            n_tokens += len(tokens) + finished
    return outputs, n_tokens


def main(label, ckpt, ids_path, threads, forced_tokens):
    """Decodes the IDS sources four ways, prints the result lines and the greedy agreement."""
    torch.set_num_threads(threads)
    m, config = load_model(ckpt)
    rows = [line.rstrip("\n").split("\t") for line in open(ids_path)]
    sources = [[int(x) for x in r[0].split()] for r in rows]
    c_greedy = [[int(x) for x in r[1].split()] for r in rows]
    print(f"PyTorch {torch.__version__} decoding, {torch.get_num_threads()} threads", flush=True)
    greedy = None
    for beam in (1, BEAM):
        for cached in (True, False):
            start = time.perf_counter()
            outputs, n_tokens = decode_all(m, config, sources, beam, cached, forced_tokens)
            dt = time.perf_counter() - start
            if beam == 1 and cached:
                greedy = outputs
            print(f"decode {label} {'greedy' if beam == 1 else 'beam4'} cache={'on' if cached else 'off'} "
                  f"sentences={len(sources)} tokens={n_tokens} seconds={dt:.3f} "
                  f"sent/s={len(sources) / dt:.2f} tok/s={n_tokens / dt:.1f}", flush=True)
    agree = sum(a == b for a, b in zip(greedy, c_greedy))
    print(f"greedy agreement: {agree}/{len(sources)} sentences", flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
         int(sys.argv[5]) if len(sys.argv) == 6 else 0)
