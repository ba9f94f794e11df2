"""``nb2pipe run``: parameter sets, run records, and the engines that execute pipelines."""
