import pytest

from newsbot.feeds.urls import BadFeedUrl, canonical, check_url, clean, same_site, slug


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("https://Example.ORG/a/b", "https://example.org/a/b"),
        ("http://example.org/a", "https://example.org/a"),  # http ≡ https
        ("https://example.org:443/a#comments", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org", "https://example.org/"),
        (
            "https://example.org/a?utm_source=rss&id=7&fbclid=x&utm_medium=feed&gclid=y&page=2",
            "https://example.org/a?id=7&page=2",
        ),
        ("https://example.org/a?UTM_Campaign=z", "https://example.org/a"),
        ("https://example.org./a", "https://example.org/a"),
    ],
)
def test_canonical(url: str, want: str) -> None:
    assert canonical(url) == want


def test_canonical_keeps_what_names_the_page() -> None:
    assert canonical("https://example.org/a?id=1") != canonical("https://example.org/a?id=2")
    assert canonical("https://example.org/A") != canonical(
        "https://example.org/a"
    )  # paths are case-sensitive


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/feed",
        "gopher://example.org/",
        "javascript:alert(1)",
        "https://user:pw@example.org/feed",
        "https://user@example.org/feed",
        "https:///feed",
        "https://example.org:99999/feed",
        "example.org/feed",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(BadFeedUrl):
        check_url(url)


def test_check_url_accepts_and_strips() -> None:
    assert check_url("  https://example.org/feed.xml\n") == "https://example.org/feed.xml"


def test_slug() -> None:
    assert slug("The Daily Ledger — World!") == "the-daily-ledger-world"
    assert slug("***") == "feed"


def test_clean_keeps_the_scheme() -> None:
    assert clean("http://Example.org/a?utm_source=x#top") == "http://example.org/a"
    assert canonical("http://Example.org/a?utm_source=x#top") == "https://example.org/a"


def test_same_site() -> None:
    assert same_site("https://www.example.org/a", "http://example.org/b")
    assert not same_site("https://example.org/a", "https://example.org.evil.test/a")
    assert not same_site("https://news.example/a", "http://127.0.0.1:8080/a")
