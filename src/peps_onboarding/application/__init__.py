"""The use cases, between the pure domain and the ports."""
