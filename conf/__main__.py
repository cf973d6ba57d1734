"""``python3 -m conf``: print every configuration key with its default."""

from .schema import reference

print(reference())
