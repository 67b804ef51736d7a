"""Models of the incidents app (see DESIGN.md §3); none yet."""
