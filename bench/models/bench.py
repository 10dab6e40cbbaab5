#!/usr/bin/env python3
"""Side-by-side model benchmark; run through bench/models/run.sh (which builds and installs).

Every engine runs in its own child process (so peak memory, the child's maximum resident set
size from wait4, is its own), one after the other, with the same thread count:
  generation  Hearth (`hearth generate --json`) vs llama.cpp (llama-cpp-python), same GGUF file,
              same ~256-token prompt, 128 greedy tokens past any end-of-sequence token;
              prompt processing tokens/s and generation tokens/s, median of --reps runs.
  embeddings  Hearth (`embed_bench`, the runtime's SentenceEncoder) vs sentence-transformers on
              all-MiniLM-L6-v2, 64 sentences, batch size 1 and 32.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = (
    "The old lighthouse keeper climbed the spiral stairs every evening, counting the steps as his "
    "father had taught him. There were one hundred and twelve of them, worn smooth in the middle "
    "by a century of boots. At the top he wound the clockwork, trimmed the wick and polished the "
    "great lens until it threw the light far across the water. Ships passing in the night never "
    "saw him, but they saw the beam, and that was enough. One winter a storm came that was worse "
    "than any he remembered. The wind tore slates from the roof of the cottage and the sea rose "
    "over the rocks until spray struck the lantern room itself. Still he climbed, still he wound "
    "the clockwork, and still the light turned. In the morning a fishing boat limped into the "
    "harbour with a broken mast, and the crew walked up the hill to thank him. He made them tea "
    "and said nothing about the stairs. Years later, when the light was automated and the keeper "
    "had moved to the village, children would ask him what it had been like. He would tell them "
    "about the storm, and the fishermen, and the hundred and twelve steps, and then he would "
    "write down a question for them to think about:"
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on a small stage in the park.",
    "Machine learning models can be trained on private data without sending it to the cloud.",
    "She bought fresh bread, cheese and a bottle of olive oil at the market this morning.",
    "The meeting has been moved to Thursday afternoon because the projector is broken.",
    "Rust guarantees memory safety without a garbage collector.",
    "Eu gosto muito de caminhar na praia ao pôr do sol.",
    "Jag tycker om att läsa böcker på tåget till jobbet.",
    "東京は世界で最も人口の多い都市の一つです。",
    "Don't forget to water the plants while I'm away 🌱!",
    "The invoice for March is attached; please pay within thirty days.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "My flight was delayed by three hours, so I missed the connection in Frankfurt.",
    "Can you recommend a good recipe for vegetarian lasagna?",
    "The committee approved the new budget after a long and heated discussion.",
    "Remember to back up your photos before updating the operating system.",
]


def measured(cmd, env=None):
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        pid = os.fork()
        if pid == 0:
            os.dup2(out_f.fileno(), 1)
            os.dup2(err_f.fileno(), 2)
            try:
                os.execvpe(cmd[0], cmd, env if env is not None else os.environ)
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read().decode(), err_f.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {code}: {err[-2000:]}")
    return out, usage.ru_maxrss / 1024.0


# ---------------------------------------------------------------- workers (child processes)


def worker_llama(args):
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=args.model,
        n_ctx=2048,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_batch=512,
        verbose=False,
    )
    tokens = llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
    pp, tg = [], []
    for _ in range(args.reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        t1 = time.perf_counter()
        for _ in range(args.n_gen):
            tok = llm.sample(temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
            llm.eval([tok])
        t2 = time.perf_counter()
        pp.append(len(tokens) / (t1 - t0))
        tg.append(args.n_gen / (t2 - t1))
    print(
        json.dumps(
            {
                "prompt_tokens": len(tokens),
                "pp": statistics.median(pp),
                "tg": statistics.median(tg),
                "version": llama_cpp.__version__,
            }
        )
    )


def worker_st(args):
    import torch
    import sentence_transformers

    torch.set_num_threads(args.threads)
    model = sentence_transformers.SentenceTransformer(args.model, device="cpu")
    model.encode(SENTENCES[:8], batch_size=8)
    rates = {}
    sentences = SENTENCES * 4
    for batch in (1, 32):
        t0 = time.perf_counter()
        for _ in range(args.reps):
            model.encode(sentences, batch_size=batch)
        rates[batch] = args.reps * len(sentences) / (time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "batch1": rates[1],
                "batch32": rates[32],
                "version": sentence_transformers.__version__,
                "torch": torch.__version__,
            }
        )
    )


# ---------------------------------------------------------------- the benchmark


def lscpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def git_rev(repo):
    try:
        rev = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["llama", "st"])
    p.add_argument("--model")
    p.add_argument("--repo", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--n-gen", type=int, default=128)
    p.add_argument("--hearth")
    p.add_argument("--embed-bench")
    p.add_argument("--generate-bench")
    p.add_argument("--out")
    args = p.parse_args()
    if args.worker == "llama":
        return worker_llama(args)
    if args.worker == "st":
        return worker_st(args)

    repo = args.repo
    models = os.path.join(repo, "models")
    gguf_dir = os.path.join(models, "smollm2")
    gguf = os.path.join(gguf_dir, sorted(f for f in os.listdir(gguf_dir) if f.endswith(".gguf"))[0])
    minilm = os.path.join(models, "all-minilm-l6-v2")
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    results = {"load_before": os.getloadavg()[0]}
    # On a busy machine OpenMP's spinning worker threads (llama.cpp, torch) lose most of their
    # time slices to the other work; passive waiting is what they need there. A quiet machine
    # keeps the OpenMP default.
    busy = results["load_before"] >= 1.0
    if busy:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    results["omp"] = "OMP_WAIT_POLICY=PASSIVE (machine busy)" if busy else "OpenMP defaults"

    # Hearth generation.
    pp, tg, peak, prompt_tokens = [], [], 0.0, None
    use_cli = bool(args.hearth) and os.access(args.hearth, os.X_OK)
    for _ in range(args.reps):
        if use_cli:
            cmd = [
                args.hearth, "generate", "--model", gguf, "--prompt", PROMPT,
                "--max-tokens", str(args.n_gen), "--temperature", "0", "--ignore-eos", "--json",
            ]
        else:
            cmd = [args.generate_bench, gguf, PROMPT, str(args.n_gen)]
        out, rss = measured(cmd, env)
        j = json.loads(out)
        pp.append(j["prompt_tokens_per_s"])
        tg.append(j["tokens_per_s"])
        prompt_tokens = j["prompt_tokens"]
        peak = max(peak, rss)
    results["hearth_gen"] = {
        "pp": statistics.median(pp), "tg": statistics.median(tg), "peak": peak,
        "prompt_tokens": prompt_tokens,
        "how": "`hearth generate --json`" if use_cli else "`generate_bench`, the runtime's `TextModel::generate`",
    }
    print("hearth generate:", results["hearth_gen"], file=sys.stderr)

    # llama.cpp generation.
    try:
        out, rss = measured(
            [sys.executable, __file__, "--worker", "llama", "--model", gguf, "--threads",
             str(args.threads), "--reps", str(args.reps), "--n-gen", str(args.n_gen)],
            env,
        )
        results["llama"] = dict(json.loads(out), peak=rss)
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        results["llama"] = {"error": str(e).splitlines()[0][:300]}
    print("llama.cpp:", results["llama"], file=sys.stderr)

    # Hearth embeddings.
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(SENTENCES * 4) + "\n")
        sentences_file = f.name
    out, rss = measured([args.embed_bench, minilm, sentences_file, str(args.reps)], env)
    results["hearth_embed"] = dict(json.loads(out), peak=rss)
    os.unlink(sentences_file)
    print("hearth embed:", results["hearth_embed"], file=sys.stderr)

    # sentence-transformers embeddings.
    try:
        out, rss = measured(
            [sys.executable, __file__, "--worker", "st", "--model", minilm, "--threads",
             str(args.threads), "--reps", str(args.reps)],
            env,
        )
        results["st"] = dict(json.loads(out), peak=rss)
    except Exception as e:  # noqa: BLE001
        results["st"] = {"error": str(e).splitlines()[0][:300]}
    print("sentence-transformers:", results["st"], file=sys.stderr)

    results["load_after"] = os.getloadavg()[0]
    write_report(args, results, gguf)


BEGIN = "<!-- bench/models/run.sh: generated from here -->"
END = "<!-- bench/models/run.sh: generated up to here -->"


def write_report(args, r, gguf):
    hg, ll, he, st = r["hearth_gen"], r["llama"], r["hearth_embed"], r["st"]
    cpu = lscpu_model()
    today = datetime.date.today().isoformat()
    lines = [
        BEGIN,
        "# Benchmarks",
        "",
        "Made by `bench/models/run.sh` (scripts in `bench/models/`). Each engine runs in its own "
        "process, one after the other, on the same machine with the same thread count; peak "
        "memory is the process's maximum resident set size. Ratios are Hearth ÷ peer: above 1 "
        "means Hearth is faster (speeds) or uses more (memory).",
        "",
    ]
    if r["load_before"] >= 1.0:
        lines += [
            f"**Caution: the machine was busy (load average {r['load_before']:.1f} on "
            f"{os.cpu_count()} cores, other builds running), so these figures are only roughly "
            "comparable. Rerun `bench/models/run.sh` on a quiet machine for real ratios.**",
            "",
        ]
    lines += [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB RAM, {platform.system()} {platform.release()}",
        f"- Date: {today}",
        f"- Threads: {args.threads}; 1-minute load average {r['load_before']:.2f} before the run, "
        f"{r['load_after']:.2f} after (other work on the machine skews every figure, llama.cpp's "
        f"spinning OpenMP threads most); {r['omp']}",
        f"- Hearth: commit {git_rev(args.repo)}, release build; generation: GGUF Q4_0/Q4_1/Q8_0 "
        "weights kept quantized and multiplied by fused SIMD kernels (training/src/quant.rs, "
        "host.rs); embeddings: the encoder's CPU path (training/src/bert_cpu.rs)",
        f"- Model: `{os.path.relpath(gguf, args.repo)}`; prompt of {hg['prompt_tokens']} tokens, "
        f"{args.n_gen} greedy tokens generated past any end-of-sequence token; median of "
        f"{args.reps} runs",
        "",
        "## Text generation (SmolLM2-135M-Instruct Q4_1)",
        "",
        "| engine | prompt processing tok/s | generation tok/s | peak memory MiB |",
        "|---|---:|---:|---:|",
        f"| Hearth ({hg['how']}) | {fmt(hg['pp'])} | {fmt(hg['tg'])} | {fmt(hg['peak'], 0)} |",
    ]
    if "error" in ll:
        lines.append(f"| llama.cpp (llama-cpp-python) | not run: {ll['error']} | | |")
    else:
        lines += [
            f"| llama.cpp (llama-cpp-python {ll['version']}) | {fmt(ll['pp'])} | {fmt(ll['tg'])} | {fmt(ll['peak'], 0)} |",
            f"| **ratio Hearth ÷ llama.cpp** | {ratio(hg['pp'], ll['pp'])} | {ratio(hg['tg'], ll['tg'])} | {ratio(hg['peak'], ll['peak'])} (memory) |",
        ]
    lines += [
        "",
        f"## Sentence embeddings (all-MiniLM-L6-v2, {he['sentences']} sentences)",
        "",
        "| engine | batch 1 sentences/s | batch 32 sentences/s | peak memory MiB |",
        "|---|---:|---:|---:|",
        f"| Hearth (`SentenceEncoder`, `embed_bench`) | {fmt(he['batch1_per_s'])} | {fmt(he['batch32_per_s'])} | {fmt(he['peak'], 0)} |",
    ]
    if "error" in st:
        lines.append(f"| sentence-transformers | not run: {st['error']} | | |")
    else:
        lines += [
            f"| sentence-transformers {st['version']} (torch {st['torch']}) | {fmt(st['batch1'])} | {fmt(st['batch32'])} | {fmt(st['peak'], 0)} |",
            f"| **ratio Hearth ÷ sentence-transformers** | {ratio(he['batch1_per_s'], st['batch1'])} | {ratio(he['batch32_per_s'], st['batch32'])} | {ratio(he['peak'], st['peak'])} (memory) |",
        ]
    lines += [
        "",
        "Notes: Hearth maps the GGUF file and keeps its Q4_1/Q8_0 blocks as stored (the tied "
        "output head reuses the embedding's blocks). The Python peers' memory includes the "
        "interpreter and torch. llama.cpp is built by run.sh for AVX2/AVX-512 without AMX (a "
        "native build crashed on this VM, which reports AMX).",
        END,
    ]
    report = "\n".join(lines) + "\n"
    # Only the generated block is replaced: the other sections of the file (other benchmarks)
    # are kept.
    try:
        with open(args.out) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    if BEGIN in old and END in old:
        before, rest = old.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        report = before + report + ("\n" + after if after else "")
    elif old:
        report = report + "\n" + old
    with open(args.out, "w") as f:
        f.write(report)


if __name__ == "__main__":
    main()
