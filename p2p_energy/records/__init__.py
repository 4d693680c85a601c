"""The records a run produces: below run/, which builds them, and output/, which shows them."""
