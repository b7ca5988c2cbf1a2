"""The operator's upkeep: backups and restores, the `check` of a deployment, importing people."""
