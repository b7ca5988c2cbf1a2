"""Use cases, one module per aggregate. Writes are jobs for the writer (functions of a `Tx`);
reads are functions of a `Connection`. Slow hashing happens before a job is submitted, never
inside the writer."""
