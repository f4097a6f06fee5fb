"""Budget kinds: one module per kind (``package_set``, ``product``, ``update``, ``image``),
the protocol they implement (``base``) and the registry that holds a run's kinds.

Import what you need from the submodules: this package imports none of them itself, so
that the shared helpers the kinds use may import ``kinds.base`` without a cycle.
"""
