"""Distillation from an ensemble of earlier readers.

    python -m qa.training.train --train runs/news12/train.json --init qa/models/reader/reader.safetensors \\
        --teacher qa/models/reader/reader.safetensors runs/teachers/v5.safetensors --kd-weight 0.5

Earlier readers of one lineage disagree where each is weak (one declines Wikipedia's adversarial
questions better, another reads real articles better); the mean of their start/end logits is a
softer, often better target than the gold span alone. The teachers' logits are computed once per
training window before training (a forward pass per window and teacher: about a quarter of a training
epoch's time per teacher on a CPU), so a step then costs what it costs without them.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

#: Where the student's logits may put mass: a padded position gets none.
_MASKED = -1e4


def teacher_logits(feats: list[dict], model: torch.nn.Module, paths: list[Path], pad_id: int,
                   batch_size: int = 32) -> None:
    """Store each feature's mean teacher start/end logits in ``feat["t_start"]``/``feat["t_end"]`` (fp16).

    ``model`` is the student's architecture; its weights are put back afterwards.
    """
    from safetensors.torch import load_file

    from .train import collate  # train imports this module

    own = {k: v.clone() for k, v in model.state_dict().items()}
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))
    sums: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    device = next(model.parameters()).device
    model.eval()
    for path in paths:
        keys = model.load_state_dict(load_file(str(path)), strict=False)
        if keys.unexpected_keys or any("word_embeddings" not in k for k in keys.missing_keys):
            raise SystemExit(f"error: teacher {path} does not match the model: {keys}")
        with torch.inference_mode():
            for b in tqdm(range(0, len(order), batch_size), desc=f"teacher {path.name}", mininterval=30):
                idx = order[b : b + batch_size]
                batch = collate([feats[i] for i in idx], pad_id)
                out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device))
                for r, i in enumerate(idx):
                    n = len(feats[i]["input_ids"])
                    s, e = out.start_logits[r, :n].float().cpu(), out.end_logits[r, :n].float().cpu()
                    prev = sums.get(i)
                    sums[i] = (s, e) if prev is None else (prev[0] + s, prev[1] + e)
    for i, (s, e) in sums.items():
        feats[i]["t_start"] = (s / len(paths)).half()
        feats[i]["t_end"] = (e / len(paths)).half()
    model.load_state_dict(own)
    model.train()


def pad_teacher(batch: list[dict], width: int) -> dict[str, torch.Tensor]:
    """Teacher logits of a batch, padded to ``width`` with a value that gets no probability."""
    out = {}
    for key in ("t_start", "t_end"):
        t = torch.full((len(batch), width), _MASKED)
        for r, f in enumerate(batch):
            t[r, : len(f[key])] = f[key].float()
        out[key] = t
    return out


def distill_loss(start: torch.Tensor, end: torch.Tensor, t_start: torch.Tensor, t_end: torch.Tensor,
                 mask: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) over the window's real tokens for start and end, scaled by T^2 (Hinton et al.)."""
    def kl(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        student = student.masked_fill(mask == 0, _MASKED) / temperature
        teacher = teacher.masked_fill(mask == 0, _MASKED) / temperature
        return F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), log_target=True,
                        reduction="batchmean")

    return (kl(start, t_start) + kl(end, t_end)) / 2 * temperature**2
