"""A small application that shows the reset flow end to end."""
