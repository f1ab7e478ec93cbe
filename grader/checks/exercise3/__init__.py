"""Custom layers: CenteredLayer, MyLinear, TensorReduction, FourierHalf."""

TITLE = "Custom layers"
