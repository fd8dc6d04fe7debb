"""Tool definitions agents commonly need."""
