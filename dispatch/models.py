"""Models of the dispatch app (see DESIGN.md §3); none yet."""
