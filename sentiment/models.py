"""Models of the sentiment app (see DESIGN.md §3); none yet."""
