"""Distillation plumbing on a tiny random BERT: teacher logits are the teachers' mean, the loss is a KL."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from qa.training.distill import distill_loss, pad_teacher, teacher_logits


def _tiny(seed: int) -> torch.nn.Module:
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    return BertForQuestionAnswering(config).eval()


def _save(model: torch.nn.Module, path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def test_teacher_logits_are_the_mean_and_the_student_is_unchanged(tmp_path: Path) -> None:
    student, a, b = _tiny(0), _tiny(1), _tiny(2)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    feats = [{"input_ids": [2, 5, 7, 9, 3], "start": 0, "end": 0}, {"input_ids": [2, 4, 3], "start": 0, "end": 0}]
    teacher_logits(feats, student, [_save(a, tmp_path / "a.safetensors"), _save(b, tmp_path / "b.safetensors")],
                   pad_id=0)
    assert all(torch.equal(before[k], v) for k, v in student.state_dict().items())
    with torch.no_grad():
        ids = torch.tensor([feats[0]["input_ids"]])
        want = (a(input_ids=ids).start_logits + b(input_ids=ids).start_logits)[0] / 2
    assert feats[0]["t_start"].shape == (5,) and feats[1]["t_end"].shape == (3,)
    assert torch.allclose(feats[0]["t_start"].float(), want, atol=1e-2)


def test_a_mismatched_teacher_is_refused(tmp_path: Path) -> None:
    from transformers import BertConfig, BertForQuestionAnswering

    other = BertForQuestionAnswering(BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=32))
    with pytest.raises((SystemExit, RuntimeError)):
        teacher_logits([{"input_ids": [2, 3], "start": 0, "end": 0}], _tiny(0),
                       [_save(other, tmp_path / "o.safetensors")], pad_id=0)


def test_distill_loss_is_zero_for_the_teacher_and_ignores_padding() -> None:
    feats = [{"t_start": torch.tensor([1.0, 3.0, -2.0]).half(), "t_end": torch.tensor([0.0, 1.0, 2.0]).half()},
             {"t_start": torch.tensor([2.0, 0.5]).half(), "t_end": torch.tensor([1.0, 1.0]).half()}]
    t = pad_teacher(feats, 3)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    start = t["t_start"].clone()
    start[1, 2] = 50.0  # whatever the student says on a padded position does not count
    assert distill_loss(start, t["t_end"], t["t_start"], t["t_end"], mask, 2.0).item() == pytest.approx(0, abs=1e-6)
    wrong = torch.tensor([[3.0, 1.0, -2.0], [0.5, 2.0, 0.0]])
    assert distill_loss(wrong, t["t_end"], t["t_start"], t["t_end"], mask, 2.0).item() > 0.1
