"""Parameter management: param_shapes, count_params, rgnet, initializers, tied_net."""

TITLE = "Parameter management"
