"""The gate's application services, under the machine API (gate.api), the console (gate.web), the regulator sync
(gate.sync) and the commands: one decision entry point (decisions), checks of uploaded packages and their jobs and
worker, callbacks and their outbox, package_url fetching, client keys, listings, reviews. No Flask here: a service
takes an engine or a connection and plain values, and is the same whoever calls it (docs/architecture.md)."""
