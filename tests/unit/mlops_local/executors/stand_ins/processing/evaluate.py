"""A stand-in evaluation script: counts its test inputs and writes evaluation.json, or fails."""

import argparse
import json
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--test-data", required=True)
parser.add_argument("--evaluation-dir", required=True)
args = parser.parse_args()
files = sorted(p.name for p in Path(args.test_data).iterdir())
if "poison.parquet" in files:
    raise ValueError("test split holds a poisoned shard")
Path(args.evaluation_dir, "evaluation.json").write_text(json.dumps({"test_files": files}))
print(f"evaluated {len(files)} shards")
