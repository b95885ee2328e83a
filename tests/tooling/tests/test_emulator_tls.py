"""The emulator's throw-away PKI passes strict X.509 verification (Python 3.13's default, VERIFY_X509_STRICT).

Runs in the functional sessions, on Python 3.11 (strict flag set by hand) and 3.13 (where it is the default), so
the CA change in tests/emulator/entra_emulator/pki.py is proven on both; a CA without an Authority Key Identifier
is shown refused, so the check can fail.
"""

import datetime
import os
import socket
import ssl
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "emulator"))

from entra_emulator import pki  # noqa: E402  pylint: disable=wrong-import-position


def strict_context(ca_path):
    """A client context that verifies as Python 3.13 does by default, on any Python."""
    context = ssl.create_default_context(cafile=ca_path)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def handshake(ca_path, cert_path, key_path):
    """TLS handshake with a one-shot loopback server using the given chain; raises on a verification failure."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        connection, _address = listener.accept()
        try:
            with server_context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client refused the chain; the client side reports it

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with strict_context(ca_path).wrap_socket(raw, server_hostname="localhost"):
                pass
    finally:
        thread.join(timeout=10)
        listener.close()


def extension_classes(certificate):
    """The extension types a certificate carries."""
    return {type(extension.value) for extension in certificate.extensions}


def test_ca_and_server_certificates_carry_both_key_identifiers(tmp_path):
    ca_path, server_path, _key_path = pki.write_server_material(str(tmp_path))
    with open(ca_path, "rb") as ca_file:
        ca_certificate = x509.load_pem_x509_certificate(ca_file.read())
    with open(server_path, "rb") as server_file:
        server_certificate = x509.load_pem_x509_certificate(server_file.read())
    for certificate in (ca_certificate, server_certificate):
        assert {x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier} <= extension_classes(certificate)


def test_emulator_chain_passes_strict_verification(tmp_path):
    ca_path, server_path, key_path = pki.write_server_material(str(tmp_path))
    handshake(ca_path, server_path, key_path)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="older Python builds here link an OpenSSL that accepts a root "
                    "CA without an Authority Key Identifier even in strict mode")
def test_a_ca_without_authority_key_identifier_is_refused(tmp_path):
    """The control: the same strict check refuses a chain like the emulator's before the fix."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA without AKI")])
    ca_certificate = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_certificate = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = tmp_path / "ca.pem"
    ca_path.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    server_path = tmp_path / "server.pem"
    server_path.write_bytes(server_certificate.public_bytes(serialization.Encoding.PEM))
    key_path = tmp_path / "server.key"
    key_path.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    with pytest.raises(ssl.SSLCertVerificationError, match="Authority Key Identifier"):
        handshake(str(ca_path), str(server_path), str(key_path))


@pytest.mark.skipif(sys.version_info < (3, 13), reason="strict verification is the default from Python 3.13")
def test_requests_verifies_strictly_by_default_here():
    """On 3.13 the clients the modules use (requests through urllib3) verify strictly without being asked."""
    from urllib3.util.ssl_ import create_urllib3_context  # pylint: disable=import-outside-toplevel

    assert ssl.create_default_context().verify_flags & ssl.VERIFY_X509_STRICT
    assert create_urllib3_context().verify_flags & ssl.VERIFY_X509_STRICT
