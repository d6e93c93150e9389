"""Average the weights of checkpoints of one lineage ("model soup"), e.g. a shipped reader and a later run.

    python -m qa.training.average qa/models/reader/reader.safetensors runs/r5/step529.safetensors \\
        --out runs/soup/step1.safetensors
    python -m qa.training.export --run runs/soup --out runs/export-soup --int8

Fine-tunings from the same weights often average into a model between or above both; the export then
validates and calibrates it like any checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def average(paths: list[Path], out: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    states = [load_file(str(p)) for p in paths]
    keys = set(states[0])
    if any(set(s) != keys for s in states[1:]):
        raise SystemExit("error: the checkpoints hold different tensors: they are not of one model")
    out.parent.mkdir(parents=True, exist_ok=True)
    mean = {k: torch.stack([s[k].float() for s in states]).mean(0).contiguous() for k in sorted(keys)}
    save_file(mean, str(out))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.training.average", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+", help="safetensors files of one model")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    average(args.checkpoints, args.out)


if __name__ == "__main__":
    main()
