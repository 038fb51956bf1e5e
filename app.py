"""The Gradio page. `python app.py [--host HOST] [--port PORT]` is `counterpoint serve`: one code path."""

import sys

from service.cli import app

if __name__ == "__main__":
    app(["serve", *sys.argv[1:]], prog_name="app.py")
