"""Side-by-side benchmarks of this library and fastapi-users (run with `make bench`)."""
