"""Suite-wide set-up: mmplug is imported, as in every user's process (its
shims apply to the whole process); tests of what happens without it run in
subprocesses."""
import mmplug  # noqa: F401
