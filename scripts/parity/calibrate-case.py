"""How far the official PULSE code moves one parity case under its own variants.

Replays a recorded case (layout: ../shared/parity/README.md) with the official code's
modules (via ../shared/ref/pulse_ref.py's driver of PULSE.forward's loop) under:
1 thread; oneDNN (mkldnn) off; the initial latent times (1 + 1e-6 N(0, 1)) for seeds 7-14.
Each variant is compared with the recording: the worst per-term relative trace error over
step 1, steps 1-5 and the whole run, and ||a-b||/||b|| of each end-state file. The worst
over the variants is written to CASE/calibration.json (the file the shared cases carry;
src/parity/bounds.ts turns it into bounds), and each variant's numbers to stdout.

This is the script behind docs/parity.md's statements about the official code's own spread.
Usage: PULSE_REF_DIR=.cache/pulse_ref .cache/tvenv/bin/python scripts/parity/calibrate-case.py
       CASE [--shared-ref ../shared/ref] [--out FILE] [--threads 2]
"""
import argparse, json, os, sys

import numpy as np
import torch


def load_case(d):
    cfg = json.load(open(os.path.join(d, "case.json")))
    npy = lambda n: torch.from_numpy(np.load(os.path.join(d, n)))
    return cfg, npy


def rel(a, b):
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def trace_error(trace, recorded, upto):
    e = 0.0
    for s in range(min(upto, len(recorded))):
        for k, v in recorded[s].items():
            e = max(e, rel(trace[s][k], v))
    return e


def l2_rel(a, b):
    a = a.double().flatten(); b = b.double().flatten()
    return float((a - b).norm() / b.norm()) if float(b.norm()) > 0 else float((a - b).norm())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--shared-ref", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "ref"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--threads", type=int, default=2, help="thread count of the recording")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.shared_ref))
    import pulse_ref as ref  # the official modules come in through PULSE_REF_DIR

    cfg, npy = load_case(args.case)
    run_cfg = dict(ref.DEFAULTS) | {k: cfg[k] for k in ref.DEFAULTS if k in cfg}
    run_cfg["dump_steps"] = 0
    synth = ref.G_synthesis(resolution=cfg["res"], fmap_base=cfg["fmap_base"])
    synth.load_state_dict(torch.load(os.path.join(args.case, "synthesis.pt"), map_location="cpu"))
    for p in synth.parameters():
        p.requires_grad = False
    L = cfg["num_layers"]
    gfit = {"mean": npy("gfit_mean.npy"), "std": npy("gfit_std.npy")}
    latent = npy("latent_init.npy")
    noise = [npy(f"noise_{i:02d}.npy") for i in range(L)]
    ref_im = npy("ref_lr.npy")
    trainable = cfg["trainable_noise"]
    end = {"latent_end": npy("latent_end.npy"), "image_end": npy("image_end.npy")}
    for i in trainable:
        end[f"noise_end_{i:02d}"] = npy(f"noise_end_{i:02d}.npy")

    def variant(name, threads, mkldnn, seed):
        torch.set_num_threads(threads)
        init = latent
        if seed is not None:
            g = torch.Generator().manual_seed(seed)
            init = latent * (1 + 1e-6 * torch.randn(latent.shape, generator=g))
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            trace, _, lat, nz, img, _ = ref.run_pulse(run_cfg, synth, gfit, ref_im, init, noise, trainable, True)
        got = {"latent_end": lat, "image_end": img} | {f"noise_end_{i:02d}": nz[i] for i in trainable}
        r = {
            "variant": name,
            "trace_step_1": trace_error(trace, cfg["trace"], 1),
            "trace_steps_1_5": trace_error(trace, cfg["trace"], 5),
            "trace_whole": trace_error(trace, cfg["trace"], len(cfg["trace"])),
            "end_state": {k: l2_rel(got[k], v) for k, v in end.items()},
        }
        print(json.dumps(r), flush=True)
        return r

    runs = [variant("1 thread", 1, True, None), variant("oneDNN off", args.threads, False, None)]
    runs += [variant(f"init x (1 + 1e-6 N(0,1)), seed {s}", args.threads, True, s) for s in range(7, 15)]
    out = {
        "variants": [r["variant"] for r in runs],
        "torch": torch.__version__,
        "trace_step_1": max(r["trace_step_1"] for r in runs),
        "trace_steps_1_5": max(r["trace_steps_1_5"] for r in runs),
        "trace_whole": max(r["trace_whole"] for r in runs),
        "end_state": {k: max(r["end_state"][k] for r in runs) for k in end},
    }
    with open(args.out or os.path.join(args.case, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
