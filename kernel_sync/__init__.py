"""kernel_sync (see DESIGN.md)."""
