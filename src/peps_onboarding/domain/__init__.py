"""The pure core: rules, values, states and transitions. No I/O, no clock, no randomness."""
