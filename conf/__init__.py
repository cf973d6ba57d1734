"""conf (see DESIGN.md)."""
