"""The `ascend` command line: a thin skin that parses arguments, wires adapters to the packages'
functions and prints. No logic of its own lives here."""
