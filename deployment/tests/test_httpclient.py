"""shopctl.httpclient: every client of a process shares one TLS context, and that context still verifies."""
from __future__ import annotations

import ssl

from shopctl import httpclient


def test_clients_share_one_context_that_verifies_certificates_and_host_names():
    context = httpclient.tls()
    assert httpclient.tls() is context
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle was loaded: https to AWS verifies
    with httpclient.client() as one, httpclient.client(timeout=1) as two:
        contexts = {id(c._transport._pool._ssl_context) for c in (one, two)}
    assert contexts == {id(context)}
