"""Models of the sentiment app (docs/architecture.md); none yet."""
