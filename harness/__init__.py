"""The test and benchmark harness, shared by tests/ and loadtests/ (neither imports the other):
servers on free ports stopped by their own pid (`processes`), users, rooms and tokens in bulk
(`seeding`), Prometheus /metrics read with prometheus_client's parser (`metrics`), CPU accounting
of processes and the box (`cpu`), one member's received seqs checked for gaps and duplicates
(`seqs`), and latency summaries (`stats`). The product (chat, apps, config) never imports it."""
