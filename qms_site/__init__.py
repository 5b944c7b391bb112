"""Site-building code for the controlled-document manual (rules, hooks, macros)."""
