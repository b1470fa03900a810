"""A tiny script-mode training script standing in for training/train.py in executor tests.

It follows the same contract: SM_* paths, --name value arguments, one metric line per epoch,
a checkpoint per epoch, SIGTERM saves and exits with 143, a restart resumes.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

terminated: list[int] = []
signal.signal(signal.SIGTERM, lambda signum, frame: terminated.append(signum))
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--epoch_seconds", type=float, default=0.3)
args = parser.parse_args()

train_dir = Path(os.environ["SM_CHANNEL_TRAIN"])
samples = sorted(p.name for p in train_dir.iterdir())  # fails on a missing channel, like the real one
checkpoint = Path(os.environ["SM_CHECKPOINT_DIR"]) / "checkpoint.json"
state = json.loads(checkpoint.read_text()) if checkpoint.exists() else {"epochs_done": 0, "history": []}
if state["epochs_done"]:
    print(f"resumed after {state['epochs_done']} epochs", flush=True)
while state["epochs_done"] < args.epochs:
    time.sleep(args.epoch_seconds)
    epoch = state["epochs_done"] + 1
    accuracy = 1 - 1 / (1 + epoch * args.learning_rate * 10)
    state["epochs_done"] = epoch
    state["history"].append(epoch)
    checkpoint.write_text(json.dumps(state))
    print(f"epoch={epoch}; train:loss={1 - accuracy:.4f}; validation:accuracy={accuracy:.4f};", flush=True)
    if terminated:
        sys.exit(143)
model_dir = Path(os.environ["SM_MODEL_DIR"])
(model_dir / "model.json").write_text(
    json.dumps(
        {
            "samples": samples,
            "history": state["history"],
            "hps": json.loads(os.environ["SM_HPS"]),
            "job": os.environ["TRAINING_JOB_NAME"],
        }
    )
)
print(f"best_epoch={args.epochs}; validation:accuracy={accuracy:.4f};", flush=True)
