"""Applications (办件): submission, state machine, deadlines, materials, instant approval."""
