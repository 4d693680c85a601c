"""Parameter sweeps (`p2p-energy sweep`): many independent runs of one scenario on Dask distributed.

`sweep_file` (the file, its axes, the runs they expand to), `run_one` (one run
as a task), `engine` (the runs on a LocalCluster or an existing scheduler),
`results` (one row per run: Parquet, CSV, the terminal table), `page`
(sweep.html), `bench` (the study on the cluster against the same runs one after
another). Imported only by the commands that need it: Dask loads only then.
"""
