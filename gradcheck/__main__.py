"""``python -m gradcheck``: the same command line as ``gradcheck``."""

from gradcheck.cli import main

if __name__ == "__main__":
    main()
