"""`python -m service` is the `counterpoint` command."""

from .cli import main

main()
