"""Deferred initialization: MyLazyLinear, lazy_mlp, materialize."""

TITLE = "Deferred initialization"
