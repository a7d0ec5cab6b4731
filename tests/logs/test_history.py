"""MessageHub / History: windowed statistics, device tensors without per-push syncs, checkpoint state."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from typedengine.logs.history import History, MessageHub


def test_window_10_mean_equals_mean_of_last_ten() -> None:
    seq = [0.5 * i + math.sin(i) for i in range(37)]
    h = History()
    for v in seq:
        h.update(v)
    assert h.mean(10) == pytest.approx(sum(seq[-10:]) / 10)
    assert h.min(10) == min(seq[-10:])
    assert h.max(10) == max(seq[-10:])
    assert h.current() == seq[-1]
    assert h.global_mean() == pytest.approx(sum(seq) / len(seq))
    assert h.mean() == pytest.approx(sum(seq) / len(seq))
    assert h.mean(100) == pytest.approx(sum(seq) / len(seq))


def test_counts_weight_the_mean() -> None:
    h = History()
    h.update(1.0, count=1)
    h.update(4.0, count=3)
    assert h.mean() == pytest.approx((1.0 + 4.0 * 3) / 4)


def test_tensors_are_kept_until_read_and_converted_together() -> None:
    h = History()
    t = [torch.tensor(float(i), requires_grad=True) * 2 for i in range(5)]
    for v in t:
        h.update(v)
    assert h._pending and not h._values  # nothing converted yet: no host sync per push
    assert len(h) == 5
    assert h.mean(2) == pytest.approx((6.0 + 8.0) / 2)
    assert not h._pending


def test_mixed_floats_tensors_and_numpy_keep_order() -> None:
    h = History()
    h.update(1.0)
    h.update(torch.tensor(2.0, dtype=torch.float16))
    h.update(np.float32(3.0))
    h.update(torch.tensor([4.0]))
    assert h.values() == [1.0, 2.0, 3.0, 4.0]


def test_bad_values_are_rejected() -> None:
    h = History()
    with pytest.raises(ValueError, match="one-element"):
        h.update(torch.ones(2))
    with pytest.raises(TypeError):
        h.update("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        h.current()


def test_max_length_trims_window_but_not_global_mean() -> None:
    h = History(max_length=5)
    for v in range(10):
        h.update(float(v))
    assert h.values() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert h.global_mean() == pytest.approx(4.5)


def test_state_dict_is_weights_only_safe_and_continues_windows() -> None:
    hub = MessageHub(keep_in_checkpoint=10)
    seq = [float(i * i) for i in range(30)]
    for v in seq:
        hub.update_scalar("train/loss", torch.tensor(v))
    hub.update_info("eta", 12.5)
    hub.update_info("not_plain", object())
    state = hub.state_dict()
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    scalars = loaded["scalars"]["train/loss"]
    assert len(scalars["values"]) == 10  # trimmed to what the smoothing window needs
    assert "not_plain" not in loaded["info"]

    fresh = MessageHub()
    fresh.load_state_dict(loaded)
    assert fresh.get_info("eta") == 12.5
    for v in (900.0, 961.0):
        fresh.update_scalar("train/loss", v)
        seq.append(v)
    assert fresh.get_scalar("train/loss").mean(10) == pytest.approx(sum(seq[-10:]) / 10)
    assert fresh.get_scalar("train/loss").global_mean() == pytest.approx(sum(seq) / len(seq))


def test_get_scalar_names_known_keys() -> None:
    hub = MessageHub()
    hub.update_scalars({"loss": 1.0, "acc": 2.0}, prefix="train/")
    assert list(hub.scalar_keys("train/")) == ["train/loss", "train/acc"]
    with pytest.raises(KeyError, match="train/loss"):
        hub.get_scalar("val/loss")
