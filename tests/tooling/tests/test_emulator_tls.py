"""The emulator's throw-away PKI passes strict X.509 verification (Python 3.13's default, VERIFY_X509_STRICT).

Runs in the functional sessions, on Python 3.11 (strict flag set by hand), 3.13 and 3.14 (where it is the default).
On 3.13+ a chain lacking the CA's Subject Key Identifier or the server certificate's Authority Key Identifier is
shown refused, so the check can fail.
"""

import datetime
import socket
import ssl
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from entra_emulator import pki


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


def test_ca_and_server_certificates_carry_the_key_identifiers_strict_mode_needs(tmp_path):
    """Strict mode needs a Subject Key Identifier on the CA and an Authority Key Identifier on what it signs."""
    ca_path, server_path, _key_path = pki.write_server_material(str(tmp_path))
    with open(ca_path, "rb") as ca_file:
        ca_certificate = x509.load_pem_x509_certificate(ca_file.read())
    with open(server_path, "rb") as server_file:
        server_certificate = x509.load_pem_x509_certificate(server_file.read())
    assert x509.SubjectKeyIdentifier in extension_classes(ca_certificate)
    assert x509.AuthorityKeyIdentifier in extension_classes(server_certificate)


def test_emulator_chain_passes_strict_verification(tmp_path):
    ca_path, server_path, key_path = pki.write_server_material(str(tmp_path))
    handshake(ca_path, server_path, key_path)


def write_chain(directory, ca_subject_key_id=True, server_authority_key_id=True):
    """A CA and a server certificate like the emulator's, optionally without one of the key identifiers."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "control CA")])
    ca_builder = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    )
    if ca_subject_key_id:
        ca_builder = ca_builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                                              critical=False)
    ca_certificate = ca_builder.sign(ca_key, hashes.SHA256())
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_builder = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if server_authority_key_id:
        server_builder = server_builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    server_certificate = server_builder.sign(ca_key, hashes.SHA256())
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    server_path = directory / "server.pem"
    server_path.write_bytes(server_certificate.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "server.key"
    key_path.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return str(ca_path), str(server_path), str(key_path)


def test_a_server_certificate_without_authority_key_identifier_is_refused(tmp_path):
    """The control: the same strict check fails a chain that lacks what the emulator's has."""
    with pytest.raises(ssl.SSLCertVerificationError, match="Missing Authority Key Identifier"):
        handshake(*write_chain(tmp_path, server_authority_key_id=False))


def test_a_ca_without_subject_key_identifier_is_refused(tmp_path):
    with pytest.raises(ssl.SSLCertVerificationError, match="Missing Subject Key Identifier"):
        handshake(*write_chain(tmp_path, ca_subject_key_id=False))


def test_requests_verifies_strictly_by_default_from_python_3_13():
    """On 3.13+ the clients the modules use (requests through urllib3) verify strictly without being asked; before
    3.13 they do not, which is why the emulator's chain is checked with strict_context above on every Python."""
    from urllib3.util.ssl_ import create_urllib3_context  # pylint: disable=import-outside-toplevel

    strict_by_default = sys.version_info >= (3, 13)
    assert bool(ssl.create_default_context().verify_flags & ssl.VERIFY_X509_STRICT) is strict_by_default
    assert bool(create_urllib3_context().verify_flags & ssl.VERIFY_X509_STRICT) is strict_by_default
