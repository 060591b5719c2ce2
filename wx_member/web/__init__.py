"""HTTP surfaces, one blueprint each."""
