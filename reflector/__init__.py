"""reflector (see DESIGN.md)."""
