"""Train the extractive reader: multilingual-e5-small encoder + span head on Indonesian QA.

    python -m qa.training.train --out runs/reader                       # from the base encoder
    python -m qa.training.train --train runs/mix/train.json --init qa/models/reader/reader.safetensors

Train on IDK-MRC train + TyDi QA Indonesian train (deduplicated by question id), or on the SQuAD-layout
files given with ``--train`` (e.g. the news mix of :mod:`qa.training.mix`). Unanswerable
questions, and windows that do not contain the answer, are trained to point at the <s> token, which
is what the reader's no-answer score reads. The word-embedding matrix stays frozen (it is shared with
the embedder and is not shipped). Checkpoint choice and the no-answer threshold are made afterwards
on the validation files only by ``python -m qa.training.export``; the test files are never read here.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..e5convert import bundled_embedder_dir
from ..settings import cache_dir
from ..squad import Example, load_squad
from .distill import distill_loss, pad_teacher, teacher_logits

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "qa"
WIKI_FILES = ("idk_mrc_train.json", "tydiqa_id_train.json")
#: Never trained on, calibrated on or used to pick checkpoints.
TEST_FILES = ("tydiqa_goldp_id_dev.json", "idk_mrc_test.json", "pairs.jsonl")


def refuse_test_file(path: Path) -> None:
    if path.name in TEST_FILES:
        raise SystemExit(f"error: {path} is a test file: it may be used for evaluation only, never for training "
                         "or validation")


def training_examples(files: list[Path]) -> list[Example]:
    """Questions of all ``files``, deduplicated by id (IDK-MRC train already holds most of TyDi QA train)."""
    seen: set[str] = set()
    out = []
    for path in files:
        refuse_test_file(path)
        for ex in load_squad(path):
            if ex.id not in seen:
                seen.add(ex.id)
                out.append(ex)
    return out


def featurise(examples: list[Example], tokenizer, max_len: int, stride: int) -> list[dict]:
    """Question/context windows with start/end token labels (0 = <s> = no answer in this window)."""
    enc = tokenizer(
        [e.question.strip() for e in examples], [e.context for e in examples],
        truncation="only_second", max_length=max_len, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    feats = []
    for i, ids in enumerate(enc["input_ids"]):
        ex = examples[enc["overflow_to_sample_mapping"][i]]
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        start_tok = end_tok = 0
        if ex.answers:
            a0, a1 = ex.starts[0], ex.starts[0] + len(ex.answers[0])
            ctx = [j for j, s in enumerate(seq) if s == 1]
            if ctx and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
                start_tok = next(j for j in ctx if offsets[j][1] > a0)
                end_tok = next(j for j in reversed(ctx) if offsets[j][0] < a1)
        feats.append({"input_ids": ids, "start": start_tok, "end": end_tok})
    return feats


def batches(feats: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    """Length-bucketed batches: sort within large shuffled pools, then shuffle the batches."""
    order = feats[:]
    rng.shuffle(order)
    pool = batch_size * 50
    out = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p : p + pool], key=lambda f: len(f["input_ids"]))
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(f["input_ids"]) for f in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, f in enumerate(batch):
        ids[r, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
        mask[r, : len(f["input_ids"])] = 1
    return {
        "input_ids": ids, "attention_mask": mask,
        "start_positions": torch.tensor([f["start"] for f in batch]),
        "end_positions": torch.tensor([f["end"] for f in batch]),
    }


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    state = model.state_dict().items()
    return {k: v.detach().cpu().clone().contiguous() for k, v in state if "word_embeddings" not in k}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.training.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with the QA JSON files")
    ap.add_argument("--train", type=Path, nargs="+", default=None,
                    help="SQuAD-layout training files (default: IDK-MRC + TyDi QA train in --data)")
    ap.add_argument("--out", type=Path, default=Path("runs/reader"), help="checkpoint folder")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (short trials)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--stride", type=int, default=128)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--snapshot-every", type=int, default=400, help="also keep weights every N steps")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--init", type=Path, default=None,
                    help="start from a step*.safetensors of an earlier run (new optimiser and schedule)")
    ap.add_argument("--teacher", type=Path, nargs="+", default=None,
                    help="safetensors of earlier readers: also learn the mean of their logits (qa.training.distill)")
    ap.add_argument("--kd-weight", type=float, default=0.5, help="share of the distillation loss (with --teacher)")
    ap.add_argument("--kd-temperature", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="torch device (default: cuda when available; the recipe was sized for 2 CPU cores)")
    args = ap.parse_args(argv)

    from safetensors.torch import save_file
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    base = bundled_embedder_dir(cache_dir())
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForQuestionAnswering.from_pretrained(str(base))
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    torch.backends.cuda.matmul.allow_tf32 = True
    if args.init:
        from safetensors.torch import load_file

        keys = model.load_state_dict(load_file(str(args.init)), strict=False)
        if keys.unexpected_keys or any("word_embeddings" not in k for k in keys.missing_keys):
            raise SystemExit(f"{args.init} does not match the model: {keys}")
    model.to(args.device)
    files = args.train or [args.data / name for name in WIKI_FILES]
    feats = featurise(training_examples(files), tokenizer, args.max_len, args.stride)
    if args.teacher:
        teacher_logits(feats, model, args.teacher, tokenizer.pad_token_id)
    steps_per_epoch = math.ceil(len(feats) / args.batch_size)
    total = int(steps_per_epoch * args.epochs)
    if args.max_steps:
        total = min(total, args.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr)
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "last.pt"
    step = 0
    if ckpt.exists():  # resume: same seed, so the batch order of every epoch is reproduced
        state = torch.load(ckpt, weights_only=True, map_location=args.device)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = int(state["step"])
        print(f"resumed at step {step}")
    log = (args.out / "train.log").open("a")
    print(json.dumps({"features": len(feats), "steps": total, **{k: str(v) for k, v in vars(args).items()}}),
          file=log, flush=True)
    model.train()
    bar = tqdm(total=total, initial=step, desc="train", mininterval=10)
    epoch_batches: list[list[dict]] = []
    running, t0 = 0.0, time.time()
    while step < total:
        epoch, pos = divmod(step, steps_per_epoch)
        if pos == 0 or not epoch_batches:
            epoch_rng = random.Random(args.seed * 1000 + epoch)
            epoch_batches = batches(feats, args.batch_size, epoch_rng)
        batch = collate(epoch_batches[pos], tokenizer.pad_token_id)
        if args.teacher:
            batch |= pad_teacher(epoch_batches[pos], batch["input_ids"].shape[1])
        batch = {k: v.to(args.device) for k, v in batch.items()}
        teacher = (batch.pop("t_start"), batch.pop("t_end")) if args.teacher else None
        out = model(**batch)
        loss = out.loss
        if teacher:
            kd = distill_loss(out.start_logits, out.end_logits, *teacher, batch["attention_mask"], args.kd_temperature)
            loss = (1 - args.kd_weight) * loss + args.kd_weight * kd
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        running += loss.item()
        bar.update(1)
        if step % 20 == 0:
            print(json.dumps({"step": step, "loss": round(running / 20, 4), "lr": sched.get_last_lr()[0],
                              "elapsed_s": round(time.time() - t0)}), file=log, flush=True)
            bar.set_postfix(loss=f"{running / 20:.3f}")
            running = 0.0
        if step % args.save_every == 0 or step == total or step % steps_per_epoch == 0:
            tmp = args.out / "last.pt.tmp"
            torch.save({"model": trainable_state(model), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step}, tmp)
            tmp.replace(ckpt)
        if step % args.snapshot_every == 0 or step % steps_per_epoch == 0 or step == total:
            save_file(trainable_state(model), str(args.out / f"step{step}.safetensors"))
    bar.close()


if __name__ == "__main__":
    main()
