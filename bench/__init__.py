"""Benchmarks of the sortlist app and core package: `python -m bench [--quick] [--json PATH]`.

One module per figure; each exposes `run(ctx: Context) -> list[Row]`. Every figure is a median
over repeated runs, and every comparison is a ratio against a baseline measured in the same run
(shared machines drift; ratios hold). `--quick` runs each measurement once on small inputs, only
to check that the benchmark works: targets are reported, never enforced.
"""
