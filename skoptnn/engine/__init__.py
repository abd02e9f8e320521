"""The training engine: a network described by a spec, trained in one compiled
graph and predicted in NumPy.

Internal: no stability promise; the public API is what ``skoptnn`` exports.
"""
