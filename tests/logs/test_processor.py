"""Golden log lines (MMEngine format) from the log processor with known hub contents."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from typedengine.config.errors import format_validation_error
from typedengine.logs.history import MessageHub
from typedengine.logs.processor import LogPosition, LogProcessor, LogProcessorConfig, SmoothingConfig


def _seed_hub() -> MessageHub:
    hub = MessageHub()
    hub.update_scalar("train/lr", 1e-3)
    losses = [5.3465 + 0.1 * (i - 4.5) for i in range(10)]
    for loss in [99.0] * 5 + losses:  # older values fall outside the window of 10
        hub.update_scalar("train/time", 0.1414)
        hub.update_scalar("train/data_time", 0.0077)
        hub.update_scalar("train/loss", loss)
    hub.update_info("eta", 1103.4)
    return hub


TRAIN_POS = LogPosition(
    "train", 9, 1563, epoch=1, iter=10, max_epochs=5, max_iters=5 * 1563, train_by_epoch=True
)


def test_train_line_matches_the_seed_log() -> None:
    tag, line = LogProcessor().iter_log(_seed_hub(), TRAIN_POS, memory_mb=392)
    assert line == (
        "Epoch(train) [1][  10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  data_time: 0.0077  "
        "memory: 392  loss: 5.3465"
    )
    assert tag["loss"] == pytest.approx(5.3465)
    assert tag["lr"] == 1e-3 and tag["memory"] == 392


def test_memory_is_omitted_off_cuda() -> None:
    _, line = LogProcessor().iter_log(_seed_hub(), TRAIN_POS, memory_mb=None)
    assert "memory" not in line
    assert line.endswith("data_time: 0.0077  loss: 5.3465")


def test_epoch_field_is_padded_to_max_epochs_width() -> None:
    pos = LogPosition("train", 9, 1563, epoch=1, iter=10, max_epochs=12, train_by_epoch=True)
    _, line = LogProcessor().iter_log(_seed_hub(), pos)
    assert line.startswith("Epoch(train)  [1][  10/1563]  lr: 1.0000e-03")


def test_pad_iter_false_keeps_the_counter_unpadded() -> None:
    _, line = LogProcessor(pad_iter=False).iter_log(_seed_hub(), TRAIN_POS)
    assert line.startswith("Epoch(train) [1][10/1563]  ")


def test_val_iteration_and_epoch_lines() -> None:
    hub = MessageHub()
    for _ in range(10):
        hub.update_scalar("val/time", 0.0122)
        hub.update_scalar("val/data_time", 0.0047)
    hub.update_scalar("val/accuracy", 30.0)  # metrics of an earlier epoch never show in iteration lines
    hub.update_info("eta", 3.9)
    proc = LogProcessor()
    pos = LogPosition("val", 9, 313, epoch=1, iter=1563, max_epochs=5, train_by_epoch=True)
    _, line = proc.iter_log(hub, pos, memory_mb=392)
    # MMEngine's val iteration lines end with two spaces (no values follow the timings)
    assert line == "Epoch(val) [1][ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  memory: 392  "
    end = LogPosition("val", 312, 313, epoch=1, iter=1563, max_epochs=5, train_by_epoch=True)
    tag, line = proc.epoch_log(hub, end, {"accuracy": 35.7})
    assert line == "Epoch(val) [1][313/313]    accuracy: 35.7000  data_time: 0.0047  time: 0.0122"
    assert tag == pytest.approx({"accuracy": 35.7, "data_time": 0.0047, "time": 0.0122})


def test_test_lines_have_no_epoch_and_standalone_val_shows_epoch_0() -> None:
    proc, hub = LogProcessor(), MessageHub()
    _, line = proc.epoch_log(hub, LogPosition("test", 312, 313), {"accuracy": 35.7, "top5": 90.0})
    assert line == "Epoch(test) [313/313]    accuracy: 35.7000  top5: 90.0000"
    _, line = proc.epoch_log(hub, LogPosition("val", 312, 313), {"accuracy": 35.7})
    assert line == "Epoch(val) [0][313/313]    accuracy: 35.7000"  # MMEngine without a train loop
    hub.update_scalar("val/time", 0.5)
    hub.update_scalar("val/data_time", 0.25)
    hub.update_info("eta", 0.0)
    _, line = proc.iter_log(hub, LogPosition("val", 9, 313))
    assert line == "Epoch(val)[0][ 10/313]    eta: 0:00:00  time: 0.5000  data_time: 0.2500  "  # no space


def test_iteration_based_lines_follow_the_train_loop() -> None:
    hub = MessageHub()
    for _ in range(10):
        hub.update_scalar("train/lr", 0.01)
        hub.update_scalar("train/time", 0.1)
        hub.update_scalar("train/data_time", 0.01)
        hub.update_scalar("train/loss", 0.5)
    hub.update_info("eta", 99.0)
    proc = LogProcessor()  # by_epoch=None: follow the loop
    pos = LogPosition("train", 9, None, epoch=1, iter=10, max_epochs=1, max_iters=1000, train_by_epoch=False)
    _, line = proc.iter_log(hub, pos)
    assert (
        line
        == "Iter(train) [  10/1000]  lr: 1.0000e-02  eta: 0:01:39  time: 0.1000  data_time: 0.0100  loss: 0.5000"
    )
    vpos = LogPosition(
        "val", 312, 313, epoch=0, iter=1000, max_epochs=1, max_iters=1000, train_by_epoch=False
    )
    _, line = proc.epoch_log(hub, vpos, {"accuracy": 35.7})
    assert line == "Iter(val) [313/313]    accuracy: 35.7000"


def test_forcing_by_epoch_false_on_an_epoch_loop() -> None:
    pos = LogPosition("train", 9, 1563, epoch=1, iter=10, max_epochs=5, max_iters=7815, train_by_epoch=True)
    _, line = LogProcessor(by_epoch=False).iter_log(_seed_hub(), pos)
    assert line.startswith("Iter(train) [  10/7815]  lr: 1.0000e-03")


def test_non_mean_keys_show_the_latest_value_and_custom_rules_apply() -> None:
    hub = MessageHub()
    for i in range(20):
        hub.update_scalar("train/loss", float(i))
        hub.update_scalar("train/acc", float(100 + i))
    cfg = LogProcessorConfig(
        custom=(
            SmoothingConfig(key="loss", method="max", window="epoch", log_name="loss_max"),
            SmoothingConfig(key="loss", method="mean", window="global", log_name="loss_global"),
            SmoothingConfig(key="acc", method="min", window=5),
        )
    )
    pos = LogPosition("train", 14, 20, epoch=1, iter=20, max_epochs=1, train_by_epoch=True)
    tag, line = cfg.build().iter_log(hub, pos)
    assert tag["loss"] == pytest.approx(sum(range(10, 20)) / 10)  # window 10
    assert tag["loss_max"] == 19.0  # the last 15 values of this epoch (batch_idx 14)
    assert tag["loss_global"] == pytest.approx(9.5)
    assert tag["acc"] == 115.0  # min of the last 5 replaces the latest value
    assert line.endswith("loss: 14.5000  acc: 115.0000  loss_max: 19.0000  loss_global: 9.5000")


def test_config_problems_name_their_paths() -> None:
    with pytest.raises(ValidationError) as info:
        LogProcessorConfig(
            by_epoch=False,
            mean_pattern="(",
            custom=(
                SmoothingConfig(key="loss", log_name="x"),
                SmoothingConfig(key="acc", log_name="x", window="epoch"),
            ),
        )
    paths = {i.path for i in format_validation_error(info.value, LogProcessorConfig)}
    assert paths == {"mean_pattern", "custom[1].log_name", "custom[1].window"}
    with pytest.raises(ValidationError):
        SmoothingConfig(key="loss", window=0)


def test_config_round_trips_through_json() -> None:
    cfg = LogProcessorConfig(window_size=20, custom=(SmoothingConfig(key="loss", window="global"),))
    assert LogProcessorConfig.model_validate_json(cfg.model_dump_json()) == cfg
