"""Resource package: ships these `.avsc` files in the wheel as `engage_sync.schemas`.

Holds no code. The files stay here, at the top of the repository, as the only schema
truth; pyproject maps this folder to `engage_sync.schemas` so an installed package
finds them through importlib.resources instead of a path next to its source.
"""
