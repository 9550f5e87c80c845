"""The production topology on one machine (issue 10): `make cluster` / `cluster-stop` /
`cluster-status`, and the fault drills (`make drills`). `topology` holds the ports and the run
directory, `render` writes the configs, `control` runs the supervisor, `drills` breaks things.
Operations tooling: the product (chat, apps, config) never imports it."""
