"""The benchmark scripts run and print the tables their docs describe (tiny budgets)."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_speed_prints_its_table_with_the_path_taken(capsys):
    _load("speed").main(["--device", "cpu", "--steps", "2", "--repeats", "1", "--models", "mlp"])
    lines = capsys.readouterr().out.splitlines()
    row = [line for line in lines if line.startswith("| mlp (ns) | 64 |")]
    assert len(row) == 1 and "| cpu fp32 |" in row[0]
    assert row[0].count("x |") == 2  # the (b)/(a) and (c)/(a) ratios


def test_fast_path_quality_table_pairs_the_seeds():
    q = _load("fast_path_quality")
    rows = [{"loss": "ns", "path": p, "chosen": "cpu fp32", "seed": s, "steps": 5, "distance": d,
             "floor": 4.0, "seconds": 1.0}
            for p, s, d in (("fp32", 0, 10.0), ("fp32", 1, 14.0), ("fast", 0, 11.0), ("fast", 1, 13.0))]
    text = q.table(rows, ["fp32", "fast"])
    assert "| ns | fp32 (cpu fp32) | 2 | 12.0 ± 2.0 | 4.00 |" in text
    # per-seed differences +1 and -1: mean 0, standard error 1
    assert "| ns | fast - fp32, per seed | 2 | 0.0 ± 1.0 |" in text


def test_veegan_curve_records_modes_at_twenty_points_and_resumes(tmp_path, capsys):
    out = tmp_path / "curves.jsonl"
    vc = _load("veegan_curve")
    vc.main(["--data", "ring8", "--steps", "20", "--out", str(out)])
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["steps"] == list(range(1, 21)) and len(record["modes"]) == len(record["hq"]) == 20
    assert all(0 <= m <= 8 for m in record["modes"]) and all(0 <= h <= 1 for h in record["hq"])
    assert "ring8 seed 0:" in capsys.readouterr().out
    vc.main(["--data", "ring8", "--steps", "20", "--out", str(out)])  # done: skipped, not appended
    assert len(out.read_text().splitlines()) == 1 and capsys.readouterr().out == ""
