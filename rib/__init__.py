"""rib (see DESIGN.md)."""
