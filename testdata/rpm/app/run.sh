#!/bin/sh
# The user's own program: no package owns it.
exec tinytool "$@"
