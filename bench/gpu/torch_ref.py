"""PyTorch + transformers on the same GPU and the same GGUF file, side by side with Hearth's CUDA
path: reads the report `cuda_check` printed (its prompt ids), measures prompt processing and
greedy generation in float32 and bfloat16, and checks the first 16 greedy tokens of each check
prompt against Hearth's. Prints one JSON object.

Usage: python3 torch_ref.py MODEL.gguf HEARTH_REPORT.json
"""

import json
import os
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main():
    gguf_path, report_path = sys.argv[1], sys.argv[2]
    report = json.load(open(report_path))
    ids = torch.tensor([report["bench_prompt_ids"]], device="cuda")
    n = report["max_tokens"]
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        model = AutoModelForCausalLM.from_pretrained(
            os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path), dtype=dtype
        ).to("cuda").eval()
        gen = dict(max_new_tokens=n, min_new_tokens=n, do_sample=False)
        with torch.no_grad():
            model.generate(ids, max_new_tokens=8, do_sample=False)  # warm-up
            pp, tg = [], []
            for _ in range(3):
                _, prefill = timed(lambda: model(ids))
                _, total = timed(lambda: model.generate(ids, **gen))
                pp.append(ids.shape[1] / prefill)
                tg.append(n / max(total - prefill, 1e-9))
            agree = []
            for check in report["checks"]:
                p = torch.tensor([check["prompt_ids"]], device="cuda")
                g = model.generate(p, max_new_tokens=16, min_new_tokens=16, do_sample=False)
                theirs = g[0, p.shape[1]:].tolist()
                agree.append(sum(1 for _ in __import__("itertools").takewhile(
                    lambda xy: xy[0] == xy[1], zip(theirs, check["gpu"]))))
        out[name] = {
            "prompt_tokens_per_s": statistics.median(pp),
            "tokens_per_s": statistics.median(tg),
            "greedy_agree_with_hearth_gpu": agree,
        }
        del model
        torch.cuda.empty_cache()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
