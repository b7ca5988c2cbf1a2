"""The pure domain: walks, fixes, geometry. No I/O, no framework, no wall clock."""
