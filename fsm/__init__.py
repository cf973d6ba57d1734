"""fsm (see DESIGN.md)."""
