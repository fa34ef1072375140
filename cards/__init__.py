"""Pure renderers: an alert and a `now` in, Block Kit, Adaptive Card or plain JSON out."""
