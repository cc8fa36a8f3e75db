"""aihub: everything but the route table (app.py), importable without Chalice running."""
import sys

# httpx's package imports its command-line client whenever click and pygments are installed (click
# comes with sqlite-utils), only to offer `httpx.main`, which aihub never runs. A None here makes
# that import fail the way httpx expects when they are absent (it then defines a stub `main`), so
# the first upstream call does not load click and pygments (5 to 10 ms of a cold start).
sys.modules.setdefault("httpx._main", None)
