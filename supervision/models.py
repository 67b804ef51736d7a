"""Models of the supervision app (see DESIGN.md §3); none yet."""
