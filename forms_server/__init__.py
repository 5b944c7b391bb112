"""The forms server: serves the built manual and (from the forms issue on) collects records."""
