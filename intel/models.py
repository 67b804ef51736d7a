"""Models of the intel app (see DESIGN.md §3); none yet."""
