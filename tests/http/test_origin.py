"""The origin check reads a URL as the request would be sent, and refuses outright what two URL parsers
may read apart (the classic differential corpus)."""

from __future__ import annotations

import pytest

from apiinv.errors import ForeignOriginError
from apiinv.http.origin import OriginPolicy

HOME, OTHER = "127.0.0.1:8000", "127.0.0.1:9000"

# (the tool's api_base_url, a link it is handed, whether credentials may follow it)
CORPUS = [
    # the same origin, spelled otherwise
    (f"http://{HOME}", f"http://{HOME}/x", True),
    (f"http://{HOME}", f"HTTP://{HOME}/x", True),
    (f"http://{HOME}", "http://127.0.0.1:08000/x", True),
    (f"http://{HOME}", f"http://{HOME}#@{OTHER}/x", True),  # the rest is a fragment: sent home
    (f"http://{HOME}", f"http://{HOME}?@{OTHER}/x", True),  # ... a query: sent home
    ("https://api.example.com", "https://api.example.com:443/x", True),
    ("https://api.example.com", "https://API.Example.COM/x", True),
    ("http://api.example.com", "http://api.example.com:80/x", True),
    ("http://[::1]:8000", "http://[::1]:8000/x", True),
    # parser differentials: refused before anything is sent
    (f"http://{HOME}", f"http://{OTHER}\\@{HOME}/x", False),
    (f"http://{HOME}", f"http://{HOME}\\@{OTHER}/x", False),
    (f"http://{HOME}", f"http://{HOME}@{OTHER}/x", False),
    (f"http://{HOME}", f"http://user:pw@{HOME}/x", False),  # user info, even at home
    (f"http://{HOME}", f"http://{OTHER}#@{HOME}/x", False),
    (f"http://{HOME}", f"http://{OTHER}?@{HOME}/x", False),
    (f"http://{HOME}", "http://127.0.0.1\t:8000/x", False),
    (f"http://{HOME}", "http://127.0.0.1:80\n00/x", False),
    (f"http://{HOME}", f"http://{HOME}\r\n/x", False),
    (f"http://{HOME}", f"http://{HOME} /x", False),
    (f"http://{HOME}", "http://%31%32%37.0.0.1:8000/x", False),
    (f"http://{HOME}", f"http:/\\\\{HOME}/x", False),
    (f"http://{HOME}", f"http:\\\\{HOME}/x", False),
    (f"http://{HOME}", f"http:{HOME}/x", False),
    ("http://[::1]:8000", "http://[::1%25eth0]:8000/x", False),
    ("http://[::1]:8000", "http://[::1%eth0]:8000/x", False),
    ("https://api.example.com", "https://api.example.com./x", False),  # another name to a resolver
    ("https://api.example.com", "https://\u0430pi.example.com/x", False),  # a Cyrillic a
    ("https://api.example.com", "https://api.example.com:99999/x", False),
    # other origins
    (f"http://{HOME}", f"http://{OTHER}/x", False),
    (f"http://{HOME}", "http://localhost:8000/x", False),
    ("https://api.example.com", "http://api.example.com/x", False),  # https -> http
    ("https://api.example.com", "http://api.example.com:443/x", False),
    ("https://api.example.com", "https://api.example.com:8443/x", False),
]


@pytest.mark.parametrize(("home", "link", "trusted"), CORPUS)
def test_the_origin_check_reads_links_as_they_would_be_sent(home: str, link: str, trusted: bool) -> None:
    policy = OriginPolicy(home, tool="t")
    assert policy.allows(link) is trusted
    if trusted:
        policy.check(link, "a link")
    else:
        with pytest.raises(ForeignOriginError) as caught:
            policy.check(link, "a next link")
        assert caught.value.code == "FOREIGN_ORIGIN"
        assert caught.value.message.startswith("refused a next link")
