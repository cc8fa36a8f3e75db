"""`python -m chalicelib.cli`."""
from chalicelib.cli import main

raise SystemExit(main())
