"""A test-only app: a small state machine that exercises the kernel (audit log, clocks, scoping)."""
