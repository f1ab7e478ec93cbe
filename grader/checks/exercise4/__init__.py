"""Deferred initialization: MyLazyLinear, lazy_mlp, materialize, partly_lazy_mlp."""

TITLE = "Deferred initialization"
