"""`python -m newsbot`: the same as the `newsbot` command."""

from newsbot.cli import main

if __name__ == "__main__":
    main()
