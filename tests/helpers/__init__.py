"""What several test modules share, one module per idea (a test module never imports another's helpers)."""
