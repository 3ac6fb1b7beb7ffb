"""The site check's own rules (the check itself runs in `make test` on the smoke build)."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "check_site", Path(__file__).resolve().parents[1] / "tools" / "check_site.py"
)
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)


def test_only_requests_to_the_site_itself_pass():
    page = "http://127.0.0.1:8123/book/02_mechanism.html"
    assert not check_site._elsewhere("http://127.0.0.1:8123/widgets/require.js", page)
    assert not check_site._elsewhere("data:image/png;base64,AAAA", page)
    assert check_site._elsewhere("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", page)
    assert check_site._elsewhere("http://127.0.0.1:9999/x.js", page)  # another server on the machine
