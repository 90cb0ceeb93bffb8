import pytest

from transforms.urls import UrlError, canonical_url, origin_of, refuse_address


@pytest.mark.parametrize("spelling", [
    "HTTP://Example.ORG:80/a/./b/../c?b=2&a=1#frag",
    "http://example.org/a/c?a=1&b=2&utm_source=newsletter&utm_medium=mail",
    "http://example.org/a//c?fbclid=XYZ&a=1&b=2",
    "http://EXAMPLE.org./a/c?a=1&b=2",
])
def test_spellings_of_one_page_have_one_canonical_url(spelling):
    assert canonical_url(spelling) == "http://example.org/a/c?a=1&b=2"


def test_canonical_url_details():
    assert canonical_url("https://example.org:443") == "https://example.org/"
    assert canonical_url("http://example.org:8080/x") == "http://example.org:8080/x"
    assert canonical_url("../x.html", "https://e.org/a/b/c.html") == "https://e.org/a/x.html"
    assert canonical_url("https://bücher.example/straße") == "https://xn--bcher-kva.example/stra%C3%9Fe"
    assert canonical_url("https://e.org/a%7e") == "https://e.org/a~"
    assert canonical_url("https://e.org/dir/") == "https://e.org/dir/"
    for bad in ("mailto:a@b.org", "ftp://e.org/x", "javascript:alert(1)", "http://", "http://e.org:99999/"):
        with pytest.raises(UrlError):
            canonical_url(bad)


def test_host_of():
    assert origin_of("https://e.org:8443/a?b") == "https://e.org:8443"


@pytest.mark.parametrize("ip,refused", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("10.1.2.3", True), ("172.16.0.1", True),
    ("192.168.1.1", True), ("169.254.169.254", True), ("::1", True), ("fe80::1", True),
    ("::ffff:127.0.0.1", True), ("0.0.0.0", True), ("8.8.8.8", False), ("2606:4700::1111", False),
])
def test_refuse_address(ip, refused):
    assert (refuse_address(ip) is not None) == refused
